/* Every name Baton writes into or selects from Kubernetes objects of its
 * own: the API group's version, labels, annotations, the finalizer. One
 * header, so that a reader finds every writer and every selector of a
 * label with one grep for its constant, and a typo is a compile error
 * instead of a selector that matches nothing. Build selectors and JSON
 * patches by string concatenation: BATON_LABEL_CLUSTER "=%s". */
#ifndef BATON_COMMON_LABELS_H
#define BATON_COMMON_LABELS_H

/* apiVersion of DatabaseCluster (crds/), in owner references and Events */
#define BATON_API_VERSION "baton.dev/v1alpha1"

/* Labels on the objects Baton and the mesh adapters write and on the
 * database's pods: which DatabaseCluster, which role (the pod fence sets
 * "fenced"), which epoch, which child, which region. */
#define BATON_LABEL_CLUSTER "baton.dev/cluster"
#define BATON_LABEL_ROLE "baton.dev/role"
#define BATON_LABEL_EPOCH "baton.dev/epoch"
#define BATON_LABEL_COMPONENT "baton.dev/component"
#define BATON_LABEL_REGION "baton.dev/region"
/* Peer fencing: the epoch a pod was fenced at, and by which region. */
#define BATON_LABEL_FENCED "baton.dev/fenced"
#define BATON_ANNOTATION_FENCED_BY "baton.dev/fenced-by"

/* On a DatabaseCluster: the region to switch over to (batonctl
 * switchover writes it in every region). */
#define BATON_ANNOTATION_SWITCHOVER "baton.dev/switchover"

/* On a database pod: a forensic fence (batonctl fence; batond/hold.h).
 * While it is there, batond orders that instance nothing but a fence,
 * grants it no lease and reports it as serving nothing, so it is never
 * promoted, rejoined, rewound or re-initialised. Its value says who and
 * why. */
#define BATON_ANNOTATION_HOLD "baton.dev/forensic-fence"

/* On every child batond applies: the stamp (a hash) of the desired state
 * it was last applied from (batond/applyhash.h); an unchanged stamp is
 * not applied again. */
#define BATON_ANNOTATION_APPLIED_HASH "baton.dev/applied-hash"

/* On a DatabaseCluster: its children are torn down before it goes. */
#define BATON_FINALIZER "baton.dev/teardown"

#endif /* BATON_COMMON_LABELS_H */
