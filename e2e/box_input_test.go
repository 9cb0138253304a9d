package e2e

import "encoding/json"

// boxInput is the "box" part of E2E_INPUT: the clusters the real CAPI controllers reconcile (box_test.go), with the
// stand-in infrastructure provider (standin_test.go) and one workload API server per cluster (workload_test.go).
// generator/src/e2e/box.ts (BoxInput) is its other half.
type boxInput struct {
	// HealthBinary is .tools/bin/capi-gitops-health (the health/ module): it evaluates the generated health checks
	// the way Argo CD (gopher-lua) and Flux (fluxcd/pkg/runtime/cel) do.
	HealthBinary string `json:"healthBinary"`
	// Checks are the health checks as the render of management/sync carries them (health/ module's checks format:
	// {"argo": {"<group>_<Kind>": "<lua>"}, "flux": [{"apiVersion","kind","current","inProgress","failed"}]}).
	Checks json.RawMessage `json:"checks"`
	// TablePath is where the suite writes the step → Argo CD health → Flux status table (Markdown).
	TablePath string `json:"tablePath"`
	// Clusters are reconciled one after another (each with its own workload API server, stopped after it).
	Clusters []boxCluster `json:"clusters"`
}

// boxCluster is one cluster of the repository or one fixture, as the repository renders it.
type boxCluster struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Fixture says what the cluster is ("dev, MachineDeployment, cilium, 1 pool"), for the per-cluster outcome.
	Fixture              string `json:"fixture"`
	KubernetesVersion    string `json:"kubernetesVersion"`
	ControlPlaneReplicas int    `json:"controlPlaneReplicas"`
	// Zones are the cluster's availability zones as its spec lists them (one subnet each in the AWSCluster).
	Zones []string  `json:"zones"`
	Pools []boxPool `json:"pools"`
	// Create is the cluster's render (kustomize build of clusters/<name>), add-on ClusterResourceSets and the
	// ConfigMaps/Secrets they read included, in the render's order.
	Create []map[string]any `json:"create"`
	// Addons are what each ClusterResourceSet must apply into the workload API server.
	Addons []boxAddon `json:"addons"`
	// Upgrade is the render after the accepted spec change (e2e/plan.ts changeSpec "accepted"); empty: none.
	Upgrade []map[string]any `json:"upgrade,omitempty"`
	// UpgradeExpect says what that change must roll.
	UpgradeExpect *boxUpgradeExpect `json:"upgradeExpect,omitempty"`
	// PoolRemoved is the render after the last pool is removed from the spec; empty when the cluster has one pool.
	PoolRemoved []map[string]any `json:"poolRemoved,omitempty"`
	// Faults are planted in Create: each must make the box fail naming this cluster and the object.
	Faults []boxFault `json:"faults,omitempty"`
}

type boxPool struct {
	Name string `json:"name"`
	// Kind is MachineDeployment or MachinePool.
	Kind         string   `json:"kind"`
	Zones        []string `json:"zones"`
	InstanceType string   `json:"instanceType"`
	// Replicas the pool starts with (its fixed replicas, or the autoscaler's minimum).
	Replicas int `json:"replicas"`
}

type boxAddon struct {
	// ClusterResourceSet is the CRS name (in the cluster's namespace).
	ClusterResourceSet string      `json:"clusterResourceSet"`
	Objects            []boxObjRef `json:"objects"`
}

type boxObjRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

type boxUpgradeExpect struct {
	// ControlPlane: the control plane's machines are all replaced (a version or template change).
	ControlPlane bool `json:"controlPlane"`
	// PoolsRolled are the pools whose machines are all replaced; every other existing pool keeps its machines.
	PoolsRolled []string `json:"poolsRolled"`
	// PoolsAdded are new pools (their machines come up).
	PoolsAdded []string `json:"poolsAdded"`
}

// boxFault is a defect planted in the render that the webhooks admit but the controllers cannot act on.
type boxFault struct {
	// Kind: "failure-domain" (a MachineDeployment failure domain no subnet has), "addon-invalid" (an add-on
	// manifest the workload's API server refuses), "crs-no-cluster" (a ClusterResourceSet selecting no cluster).
	Kind string `json:"kind"`
	// Object is "<Kind>/<name>" of the object the failure must name.
	Object string `json:"object"`
}
