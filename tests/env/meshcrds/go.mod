// Wrapper module: pins the upstream CRD definitions the mesh adapters are
// tested against (Istio's networking API and the Multi-Cluster Services
// API). Nothing is compiled; build.sh copies the YAML out of the module
// cache, as envtest users do.
module baton.dev/testenv/meshcrds

go 1.24.0

require (
	istio.io/api v1.28.0
	sigs.k8s.io/mcs-api v0.5.2
)
