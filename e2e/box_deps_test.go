package e2e

// The upstream controllers the box runs; box_env_test.go imports them for real, this file only keeps them in go.mod
// until it does (delete it then).
import (
	_ "sigs.k8s.io/cluster-api/bootstrap/kubeadm/controllers"
	_ "sigs.k8s.io/cluster-api/controllers"
	_ "sigs.k8s.io/cluster-api/controllers/clustercache"
	_ "sigs.k8s.io/cluster-api/controlplane/kubeadm/controllers"
)
