// Package upstream is the one place that says what capi-gitops takes from the pinned Cluster API and CAPA modules:
// their API types (the scheme), their admission webhooks (the public SetupWebhookWithManager functions) and their
// feature gates. The admission program (offline, webhooks called through an unstarted server's mux) and the e2e
// suite (e2e/: webhooks served to a real kube-apiserver through envtest) both register exactly this list.
package upstream

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "sigs.k8s.io/cluster-api-provider-aws/v2/api/v1beta2"
	expinfrav1 "sigs.k8s.io/cluster-api-provider-aws/v2/exp/api/v1beta2"
	capaexpwebhooks "sigs.k8s.io/cluster-api-provider-aws/v2/exp/webhooks"
	capawebhooks "sigs.k8s.io/cluster-api-provider-aws/v2/webhooks"
	addonsv1beta1 "sigs.k8s.io/cluster-api/api/addons/v1beta1"
	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	bootstrapv1beta1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta1"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1beta1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta1"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1beta1 "sigs.k8s.io/cluster-api/api/core/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	bootstrapwebhooks "sigs.k8s.io/cluster-api/bootstrap/kubeadm/webhooks"
	kcpwebhooks "sigs.k8s.io/cluster-api/controlplane/kubeadm/webhooks"
	"sigs.k8s.io/cluster-api/feature"
	capiwebhooks "sigs.k8s.io/cluster-api/webhooks"
)

// NewScheme holds the Kubernetes built-in types and every CAPI/CAPA API version the project reads or writes.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		clusterv1.AddToScheme, clusterv1beta1.AddToScheme,
		bootstrapv1.AddToScheme, bootstrapv1beta1.AddToScheme,
		controlplanev1.AddToScheme, controlplanev1beta1.AddToScheme,
		addonsv1.AddToScheme, addonsv1beta1.AddToScheme,
		infrav1.AddToScheme, expinfrav1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SetFeatureGates sets CAPI's feature gates ("MachinePool=true,..."). CAPA's gates are CAPI's MutableGates with
// CAPA's own added, so one Set serves both providers' webhooks.
func SetFeatureGates(gates string) error {
	if gates == "" {
		return nil
	}
	return feature.MutableGates.Set(gates)
}

// NoClusterCache answers the Cluster webhook's rare question about workload-cluster nodes: there is no workload
// cluster (offline, and in the e2e suite's management cluster alike).
type NoClusterCache struct{}

func (NoClusterCache) GetReader(context.Context, client.ObjectKey) (client.Reader, error) {
	return nil, errors.New("capi-gitops: no workload cluster is reachable")
}

// Setup is what every upstream webhook type offers.
type Setup interface {
	SetupWebhookWithManager(ctrl.Manager) error
}

// Webhooks lists the upstream webhooks of the kinds a management cluster running the pinned CAPI core, kubeadm
// bootstrap and control-plane providers and CAPA serves. Webhooks that read other objects read them through c.
func Webhooks(c client.Client) []Setup {
	return []Setup{
		// Cluster API core (sigs.k8s.io/cluster-api/webhooks)
		&capiwebhooks.Cluster{Client: c, ClusterCacheReader: NoClusterCache{}},
		&capiwebhooks.ClusterClass{Client: c},
		&capiwebhooks.Machine{},
		&capiwebhooks.MachineDeployment{},
		&capiwebhooks.MachineSet{},
		&capiwebhooks.MachineHealthCheck{},
		&capiwebhooks.MachineDrainRule{},
		&capiwebhooks.MachinePool{},
		&capiwebhooks.ClusterResourceSet{},
		&capiwebhooks.ClusterResourceSetBinding{},
		// kubeadm control plane and bootstrap
		&kcpwebhooks.KubeadmControlPlane{},
		&kcpwebhooks.KubeadmControlPlaneTemplate{},
		&bootstrapwebhooks.KubeadmConfig{},
		&bootstrapwebhooks.KubeadmConfigTemplate{},
		// CAPA (sigs.k8s.io/cluster-api-provider-aws/v2/webhooks, exp/webhooks)
		&capawebhooks.AWSCluster{},
		&capawebhooks.AWSClusterTemplate{},
		&capawebhooks.AWSMachine{},
		&capawebhooks.AWSMachineTemplate{},
		&capawebhooks.AWSClusterControllerIdentity{},
		&capawebhooks.AWSClusterRoleIdentity{},
		&capawebhooks.AWSClusterStaticIdentity{},
		&capaexpwebhooks.AWSMachinePool{},
		&capaexpwebhooks.AWSManagedMachinePool{},
		&capaexpwebhooks.AWSFargateProfile{},
		&capaexpwebhooks.ROSAMachinePool{},
		&capaexpwebhooks.ROSANetwork{},
		&capaexpwebhooks.ROSARoleConfig{},
	}
}
