/* The one version of Baton: what every binary's --version prints, and the
 * image tag that the chart (Chart.yaml appVersion), the CRD's default
 * spec.agentImage and operator/Dockerfile name.
 *
 * The Makefile defines BATON_VERSION from Chart.yaml's appVersion (its
 * VERSION variable; `make VERSION=...` overrides it, after a `make clean`,
 * as objects do not depend on the flag) and `make lint` checks the CRD's
 * default agrees. The fallback marks a build that bypassed the Makefile.
 */
#ifndef BATON_COMMON_VERSION_H
#define BATON_COMMON_VERSION_H

#ifndef BATON_VERSION
#define BATON_VERSION "v0.0.0-unknown"
#endif

/* The image the agents run in when a DatabaseCluster names none (the
 * CRD's default normally fills spec.agentImage in first). */
#define BATON_DEFAULT_IMAGE "ghcr.io/baton-dev/baton:" BATON_VERSION

#endif /* BATON_COMMON_VERSION_H */
