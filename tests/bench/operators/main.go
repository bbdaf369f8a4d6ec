// baton-bench-cr: a minimal controller-runtime operator doing what batond
// does per single-region DatabaseCluster, for the side-by-side benchmark
// (tests/bench/bench-operators.sh, docs/batond.md "batond beside a
// controller-runtime operator"). Not a product: no Raft, no agents, no
// failover. Per DatabaseCluster it does batond's work in batond's order
// (operator/batond/reconcile.c):
//
//   - the finalizer baton.dev/teardown (a patch with an optimistic lock,
//     as batond's JSON patch tests resourceVersion);
//   - the same six objects by server-side apply, the same content as
//     operator/batond/children.c and mesh-adapters/mesh.c build for one
//     data region with no agent TLS: StatefulSet, headless Service,
//     PodDisruptionBudget, ConfigMap, the primary and replica Services;
//   - status by merge patch, only when it changed, with the conditions,
//     phase and fields batond converges to in a single-region fleet whose
//     agents never report (the primary's lease expired, failover manual);
//     the Event batond records on a phase change;
//   - the pod labels (role, epoch) batond's label fence writes.
//
// The same watches: DatabaseClusters in every namespace and the pods with a
// baton.dev/cluster label (batond's two informers). Everything else is
// controller-runtime's defaults (one worker, no client-side rate limit, no
// leader election: batond has none either, its Raft group decides).
// API writes are client-go's rest_client_requests_total on --metrics-bind.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

const (
	apiVersion     = "baton.dev/v1alpha1"
	finalizer      = "baton.dev/teardown"
	labelCluster   = "baton.dev/cluster"
	labelRole      = "baton.dev/role"
	labelEpoch     = "baton.dev/epoch"
	labelComponent = "baton.dev/component"
	labelRegion    = "baton.dev/region"
	agentPort      = 8081
	agentProbePort = 8082
	replicationDir = "/etc/baton/replication"
	fieldManager   = "baton-bench-cr"
)

var groupVersion = schema.GroupVersion{Group: "baton.dev", Version: "v1alpha1"}

// ---- the DatabaseCluster type (the fields this operator reads and writes;
// the CRD's defaults fill the spec) ------------------------------------------

type Region struct {
	Name     string `json:"name"`
	Role     string `json:"role,omitempty"`
	Replicas int64  `json:"replicas"`
	Priority int64  `json:"priority,omitempty"`
}

type Spec struct {
	Regions       []Region `json:"regions"`
	PrimaryRegion string   `json:"primaryRegion,omitempty"`
	Failover      struct {
		Mode         string `json:"mode,omitempty"`
		Synchronous  bool   `json:"synchronous"`
		MaxLagBytes  int64  `json:"maxLagBytes,omitempty"`
		LeaseSeconds int64  `json:"leaseSeconds,omitempty"`
		RenewMillis  int64  `json:"renewMillis,omitempty"`
	} `json:"failover"`
	AgentImage string `json:"agentImage,omitempty"`
	Engine     string `json:"engine,omitempty"`
	Image      string `json:"image,omitempty"`
	Storage    struct {
		Size             string `json:"size,omitempty"`
		StorageClassName string `json:"storageClassName,omitempty"`
	} `json:"storage"`
	Teardown struct {
		RetainData     bool  `json:"retainData"`
		TimeoutSeconds int64 `json:"timeoutSeconds,omitempty"`
	} `json:"teardown"`
	Traffic struct {
		Mesh    string `json:"mesh,omitempty"`
		Service struct {
			Name string `json:"name,omitempty"`
			Port int64  `json:"port,omitempty"`
		} `json:"service"`
	} `json:"traffic"`
}

type RegionStatus struct {
	Name      string `json:"name"`
	Ready     bool   `json:"ready"`
	Reachable bool   `json:"reachable"`
	Role      string `json:"role,omitempty"`
}

type Switchover struct {
	Generation  int64  `json:"generation"`
	Message     string `json:"message,omitempty"`
	SpecPrimary string `json:"specPrimary,omitempty"`
	State       string `json:"state,omitempty"`
	Target      string `json:"target,omitempty"`
}

type Status struct {
	ObservedGeneration  int64              `json:"observedGeneration,omitempty"`
	Regions             []RegionStatus     `json:"regions,omitempty"`
	Ready               string             `json:"ready,omitempty"`
	PrimaryRegion       string             `json:"primaryRegion,omitempty"`
	Epoch               int64              `json:"epoch,omitempty"`
	FailoverMode        string             `json:"failoverMode,omitempty"`
	Phase               string             `json:"phase,omitempty"`
	PhaseReason         string             `json:"phaseReason,omitempty"`
	PrimaryFailingSince string             `json:"primaryFailingSince,omitempty"`
	Switchover          *Switchover        `json:"switchover,omitempty"`
	Conditions          []metav1.Condition `json:"conditions,omitempty"`
}

type DatabaseCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              Spec   `json:"spec"`
	Status            Status `json:"status,omitempty"`
}

type DatabaseClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DatabaseCluster `json:"items"`
}

// Hand-written deep copies (what controller-gen would generate).
func (in *Status) deepCopyInto(out *Status) {
	*out = *in
	out.Regions = append([]RegionStatus(nil), in.Regions...)
	if in.Switchover != nil {
		s := *in.Switchover
		out.Switchover = &s
	}
	if in.Conditions != nil {
		out.Conditions = make([]metav1.Condition, len(in.Conditions))
		for i := range in.Conditions {
			in.Conditions[i].DeepCopyInto(&out.Conditions[i])
		}
	}
}

func (in *DatabaseCluster) DeepCopyInto(out *DatabaseCluster) {
	*out = *in
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Spec.Regions = append([]Region(nil), in.Spec.Regions...)
	in.Status.deepCopyInto(&out.Status)
}

func (in *DatabaseCluster) DeepCopy() *DatabaseCluster {
	out := new(DatabaseCluster)
	in.DeepCopyInto(out)
	return out
}

func (in *DatabaseCluster) DeepCopyObject() runtime.Object { return in.DeepCopy() }

func (in *DatabaseClusterList) DeepCopyObject() runtime.Object {
	out := new(DatabaseClusterList)
	*out = *in
	in.ListMeta.DeepCopyInto(&out.ListMeta)
	if in.Items != nil {
		out.Items = make([]DatabaseCluster, len(in.Items))
		for i := range in.Items {
			in.Items[i].DeepCopyInto(&out.Items[i])
		}
	}
	return out
}

// ---- the children: operator/batond/children.c and mesh-adapters/mesh.c ----

type obj = map[string]any

func metadata(db *DatabaseCluster, region, name, component string) obj {
	md := meshMetadata(db, name, component)
	md["labels"].(obj)[labelRegion] = region
	return md
}

func meshMetadata(db *DatabaseCluster, name, component string) obj {
	return obj{
		"name": name, "namespace": db.Namespace,
		"labels": obj{
			"app.kubernetes.io/managed-by": "baton",
			"app.kubernetes.io/part-of":    "baton",
			labelCluster:                   db.Name,
			labelComponent:                 component,
		},
		"ownerReferences": []any{obj{
			"apiVersion": apiVersion, "kind": "DatabaseCluster",
			"name": db.Name, "uid": string(db.UID),
			"controller": true, "blockOwnerDeletion": true,
		}},
	}
}

func selector(db *DatabaseCluster, region string) obj {
	return obj{labelCluster: db.Name, labelRegion: region}
}

func strs(s ...string) []any {
	out := make([]any, len(s))
	for i := range s {
		out[i] = s[i]
	}
	return out
}

func statefulSet(db *DatabaseCluster, r *Region, batondURL, name, headless string) obj {
	s := &db.Spec
	port := s.Traffic.Service.Port
	podLabels := selector(db, r.Name)
	podLabels["app.kubernetes.io/name"] = "baton-db"
	podLabels[labelRole] = "replica"
	podLabels[labelEpoch] = "0"
	args := strs("baton-agent", "--region", r.Name, "--listen", "0.0.0.0:8081",
		"--pg-data", "/var/lib/postgresql/data/pgdata",
		"--pg-port", strconv.FormatInt(port, 10), "--pg-host", "$(POD_IP)",
		"--state-file", "/var/lib/postgresql/data/baton-agent.state",
		"--max-lag-bytes", strconv.FormatInt(s.Failover.MaxLagBytes, 10),
		"--lease-margin-ms", "100",
		"--pg-lease-module", "baton_lease",
		"--lease-file", "/var/lib/postgresql/data/baton.lease",
		"--pg-socket-dir", "/var/lib/postgresql/data/run",
		"--repl-password-file", replicationDir+"/password")
	if s.Failover.Synchronous {
		names := ""
		for _, o := range s.Regions {
			if o.Role != "data" || o.Replicas < 1 || o.Name == r.Name {
				continue
			}
			if names != "" {
				names += ","
			}
			names += db.Name + "-" + o.Name + "-0"
		}
		args = append(args, strs("--synchronous", "--sync-names", names)...)
	}
	args = append(args, strs("--probe-listen", "0.0.0.0:8082")...)
	fieldEnv := func(n, path string) obj {
		return obj{"name": n, "valueFrom": obj{"fieldRef": obj{"fieldPath": path}}}
	}
	agent := obj{
		"name": "baton-agent", "image": s.AgentImage, "args": args,
		"env": []any{
			fieldEnv("POD_NAME", "metadata.name"),
			fieldEnv("POD_NAMESPACE", "metadata.namespace"),
			fieldEnv("POD_IP", "status.podIP"),
			obj{"name": "BATON_BATOND_URL", "value": batondURL},
		},
		"ports": []any{
			obj{"name": "agent", "containerPort": int64(agentPort)},
			obj{"name": "probe", "containerPort": int64(agentProbePort)},
			obj{"name": "postgres", "containerPort": port},
		},
		"readinessProbe": obj{
			"httpGet":       obj{"path": "/readyz", "port": "probe"},
			"periodSeconds": int64(2),
		},
		"securityContext": obj{
			"allowPrivilegeEscalation": false,
			"readOnlyRootFilesystem":   true,
			"capabilities":             obj{"drop": strs("ALL")},
		},
		"volumeMounts": []any{
			obj{"name": "data", "mountPath": "/var/lib/postgresql/data"},
			obj{"name": "replication", "mountPath": replicationDir, "readOnly": true},
		},
	}
	pod := obj{
		"metadata": obj{"labels": podLabels},
		"spec": obj{
			"terminationGracePeriodSeconds": int64(30),
			"enableServiceLinks":            false,
			"securityContext": obj{
				"runAsNonRoot": true, "runAsUser": int64(999), "fsGroup": int64(999),
				"seccompProfile": obj{"type": "RuntimeDefault"},
			},
			"containers": []any{agent},
			"volumes": []any{obj{
				"name": "replication",
				"secret": obj{
					"secretName":  db.Name + "-replication",
					"items":       []any{obj{"key": "password", "path": "password"}},
					"defaultMode": int64(0o440),
				},
			}},
		},
	}
	pvcSpec := obj{
		"accessModes": strs("ReadWriteOnce"),
		"resources":   obj{"requests": obj{"storage": s.Storage.Size}},
	}
	if s.Storage.StorageClassName != "" {
		pvcSpec["storageClassName"] = s.Storage.StorageClassName
	}
	whenDeleted := "Delete"
	if s.Teardown.RetainData {
		whenDeleted = "Retain"
	}
	return obj{
		"apiVersion": "apps/v1", "kind": "StatefulSet",
		"metadata": metadata(db, r.Name, name, "database"),
		"spec": obj{
			"serviceName": headless, "replicas": r.Replicas,
			"podManagementPolicy": "Parallel",
			"persistentVolumeClaimRetentionPolicy": obj{
				"whenDeleted": whenDeleted, "whenScaled": "Retain",
			},
			"selector":             obj{"matchLabels": selector(db, r.Name)},
			"template":             pod,
			"volumeClaimTemplates": []any{obj{"metadata": obj{"name": "data"}, "spec": pvcSpec}},
		},
	}
}

// desired: the region's six objects, as batond applies them (children.c's
// four, then the plain mesh backend's two Services).
func desired(db *DatabaseCluster, region, batondURL string, epoch int64) ([]obj, error) {
	var r *Region
	for i := range db.Spec.Regions {
		if db.Spec.Regions[i].Name == region {
			r = &db.Spec.Regions[i]
		}
	}
	if r == nil || r.Role != "data" {
		return nil, nil
	}
	s := &db.Spec
	port := s.Traffic.Service.Port
	name := db.Name + "-" + region
	headless := name + "-hl"
	regions := []any{}
	for _, o := range s.Regions {
		role := "witness"
		if o.Role == "data" {
			role = "data"
		}
		regions = append(regions, obj{"name": o.Name, "role": role, "replicas": o.Replicas})
	}
	clusterJSON, err := json.Marshal(obj{ // keys sorted, compact: JSON_COMPACT | JSON_SORT_KEYS
		"database": db.Name, "region": region, "regions": regions,
		"synchronous": s.Failover.Synchronous, "maxLagBytes": s.Failover.MaxLagBytes,
		"port": port, "headlessService": headless,
	})
	if err != nil {
		return nil, err
	}
	svc := s.Traffic.Service.Name
	if svc == "" {
		svc = db.Name + "-rw"
	}
	dbPort := func() []any {
		return []any{obj{"name": "tcp-db", "port": port, "protocol": "TCP",
			"appProtocol": "tcp", "targetPort": port}}
	}
	return []obj{
		statefulSet(db, r, batondURL, name, headless),
		{
			"apiVersion": "v1", "kind": "Service",
			"metadata": metadata(db, region, headless, "headless-service"),
			"spec": obj{
				"clusterIP": "None", "publishNotReadyAddresses": true,
				"selector": selector(db, region),
				"ports":    []any{obj{"name": "tcp-db", "port": port, "targetPort": port}},
			},
		},
		{
			"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
			"metadata": metadata(db, region, name, "pdb"),
			"spec": obj{"maxUnavailable": int64(1),
				"selector": obj{"matchLabels": selector(db, region)}},
		},
		{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": metadata(db, region, name, "config"),
			"data":     obj{"cluster.json": string(clusterJSON)},
		},
		{
			"apiVersion": "v1", "kind": "Service",
			"metadata": meshMetadata(db, svc, "primary-service"),
			"spec": obj{
				"type": "ClusterIP",
				"selector": obj{labelCluster: db.Name, labelRole: "primary",
					labelEpoch: strconv.FormatInt(epoch, 10)},
				"ports":                    dbPort(),
				"publishNotReadyAddresses": false,
			},
		},
		{
			"apiVersion": "v1", "kind": "Service",
			"metadata": meshMetadata(db, db.Name+"-ro", "replica-service"),
			"spec": obj{
				"type":     "ClusterIP",
				"selector": obj{labelCluster: db.Name, labelRole: "replica"},
				"ports":    dbPort(),
			},
		},
	}, nil
}

// ---- status: what batond's status.c writes once it has converged in a
// single-region fleet whose agents never report ------------------------------

func condition(old []metav1.Condition, typ string, ok bool, reason, message string,
	gen int64, now metav1.Time) metav1.Condition {
	st := metav1.ConditionFalse
	if ok {
		st = metav1.ConditionTrue
	}
	ltt := now
	for _, c := range old {
		if c.Type == typ && c.Status == st {
			ltt = c.LastTransitionTime
		}
	}
	return metav1.Condition{Type: typ, Status: st, ObservedGeneration: gen,
		LastTransitionTime: ltt, Reason: reason, Message: message}
}

func computeStatus(db *DatabaseCluster, region, primary string, epoch int64, now metav1.Time) Status {
	old := db.Status.Conditions
	gen := db.Generation
	data := 0
	var regions []RegionStatus
	for _, r := range db.Spec.Regions {
		if r.Name == region {
			regions = append(regions, RegionStatus{Name: r.Name, Reachable: true, Role: "replica"})
		}
		if r.Role == "data" {
			data++
		}
	}
	ready := 0 // no agent reports in the benchmark
	manual := db.Spec.Failover.Mode != "automatic"
	lost := fmt.Sprintf("the lease of the primary in %s expired; no region is eligible "+
		"for promotion yet (healthy, within maxLagBytes, a synchronous standby "+
		"in synchronous mode)", primary)
	if manual {
		lost = fmt.Sprintf("the lease of the primary in %s expired and failover is manual: "+
			"promote a region with `batonctl switchover NS/NAME REGION` (or the "+
			"annotation baton.dev/switchover=REGION in every region)", primary)
	}
	conds := []metav1.Condition{
		condition(old, "SpecValid", true, "Valid", "the spec can be served", gen, now),
		condition(old, "Consensus", true, "Quorum", "a Raft majority is reachable", gen, now),
		condition(old, "PrimaryElected", true, "Committed",
			fmt.Sprintf("the primary is in %s at epoch %d", primary, epoch), gen, now),
		condition(old, "TrafficRouted", true, "Routed", "routing objects match the primary", gen, now),
		condition(old, "Ready", false, "RegionsNotReady",
			fmt.Sprintf("%d of %d data regions ready", ready, data), gen, now),
		condition(old, "PrimaryAvailable", false, "LeaseExpired", lost, gen, now),
		condition(old, "FailoverBlocked", false, "NotBlocked",
			"no failover is due, or it can proceed", gen, now),
	}
	mode := "manual"
	if !manual {
		mode = "automatic"
	}
	return Status{
		ObservedGeneration:  gen,
		Regions:             regions,
		Ready:               fmt.Sprintf("%d/%d", ready, data),
		PrimaryRegion:       primary,
		Epoch:               epoch,
		FailoverMode:        mode,
		Phase:               "Degraded",
		PhaseReason:         lost,
		PrimaryFailingSince: conds[5].LastTransitionTime.UTC().Format("2006-01-02T15:04:05Z"),
		Switchover: &Switchover{Generation: gen, Message: "the initial primary",
			SpecPrimary: db.Spec.PrimaryRegion, State: "Completed", Target: primary},
		Conditions: conds,
	}
}

// ---- the reconciler ------------------------------------------------------------

type reconciler struct {
	client.Client
	region, batondURL string
	events            record.EventRecorder
}

func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	db := &DatabaseCluster{}
	if err := r.Get(ctx, req.NamespacedName, db); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !db.DeletionTimestamp.IsZero() {
		// no Raft group to leave: the children go with their owner
		if controllerutil.ContainsFinalizer(db, finalizer) {
			orig := db.DeepCopy()
			controllerutil.RemoveFinalizer(db, finalizer)
			return reconcile.Result{}, r.Patch(ctx, db,
				client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
		}
		return reconcile.Result{}, nil
	}
	if !controllerutil.ContainsFinalizer(db, finalizer) {
		orig := db.DeepCopy()
		controllerutil.AddFinalizer(db, finalizer)
		if err := r.Patch(ctx, db,
			client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return reconcile.Result{}, err
		}
	}
	// batond's FSM registers the database with the spec's primary region
	// at epoch 1; here that is a given.
	primary, epoch := db.Spec.PrimaryRegion, int64(1)
	if primary == "" && len(db.Spec.Regions) > 0 {
		primary = db.Spec.Regions[0].Name
	}
	objs, err := desired(db, r.region, r.batondURL, epoch)
	if err != nil {
		return reconcile.Result{}, err
	}
	for _, o := range objs {
		u := &unstructured.Unstructured{Object: o}
		if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
			client.FieldOwner(fieldManager), client.ForceOwnership); err != nil {
			return reconcile.Result{}, fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	st := computeStatus(db, r.region, primary, epoch, metav1.Now())
	if !equality.Semantic.DeepEqual(st, db.Status) {
		if db.Status.Phase != st.Phase {
			oldPhase := db.Status.Phase
			if oldPhase == "" {
				oldPhase = "(none)"
			}
			r.events.Eventf(db, corev1.EventTypeWarning, st.Phase, "phase %s → %s in region %s",
				oldPhase, st.Phase, r.region)
		}
		orig := db.DeepCopy()
		db.Status = st
		if err := r.Status().Patch(ctx, db, client.MergeFrom(orig)); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{}, r.syncLabels(ctx, db, epoch)
}

// syncLabels: batond's label fence with no lease held here (the agents
// never report): every pod of the database is a replica at the epoch.
func (r *reconciler) syncLabels(ctx context.Context, db *DatabaseCluster, epoch int64) error {
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(db.Namespace),
		client.MatchingLabels{labelCluster: db.Name}); err != nil {
		return err
	}
	e := strconv.FormatInt(epoch, 10)
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Labels[labelRole] == "replica" && p.Labels[labelEpoch] == e {
			continue
		}
		patch := fmt.Appendf(nil, `{"metadata":{"labels":{%q:"replica",%q:%q}}}`,
			labelRole, labelEpoch, e)
		if err := r.Patch(ctx, p, client.RawPatch("application/merge-patch+json", patch)); err != nil &&
			!apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

func main() {
	region := flag.String("region", "", "this region's name (as in spec.regions)")
	metricsBind := flag.String("metrics-bind", "127.0.0.1:8080", "serve /metrics here")
	batondURL := flag.String("batond-url", "http://127.0.0.1:8443", "BATON_BATOND_URL in the pods")
	workers := flag.Int("max-concurrent-reconciles", 0, "0: controller-runtime's default (1)")
	flag.Parse()
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr,
		&slog.HandlerOptions{Level: slog.LevelWarn})))

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic(err)
	}
	scheme.AddKnownTypes(groupVersion, &DatabaseCluster{}, &DatabaseClusterList{})
	metav1.AddToGroupVersion(scheme, groupVersion)

	hasCluster, err := labels.NewRequirement(labelCluster, selection.Exists, nil)
	if err != nil {
		panic(err)
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: *metricsBind},
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Label: labels.NewSelector().Add(*hasCluster)},
		}},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
	r := &reconciler{Client: mgr.GetClient(), region: *region, batondURL: *batondURL,
		events: mgr.GetEventRecorderFor("baton-bench-cr")}
	podToDB := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		db := o.GetLabels()[labelCluster]
		if db == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: db}}}
	})
	err = ctrl.NewControllerManagedBy(mgr).
		Named("databasecluster").
		For(&DatabaseCluster{}).
		Watches(&corev1.Pod{}, podToDB).
		WithOptions(controller.Options{MaxConcurrentReconciles: *workers}).
		Complete(r)
	if err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		os.Exit(1)
	}
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}
