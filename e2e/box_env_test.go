package e2e

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	controlplanev1beta1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta1"
	clusterv1beta1 "sigs.k8s.io/cluster-api/api/core/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/api/core/v1beta2/index"
	kubeadmbootstrapcontrollers "sigs.k8s.io/cluster-api/bootstrap/kubeadm/controllers"
	capicontrollers "sigs.k8s.io/cluster-api/controllers"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	"sigs.k8s.io/cluster-api/controllers/remote"
	kubeadmcontrolplanecontrollers "sigs.k8s.io/cluster-api/controlplane/kubeadm/controllers"
	"sigs.k8s.io/cluster-api/feature"
	"sigs.k8s.io/cluster-api/util/contract"
)

// boxSyncPeriod replaces the providers' 10 min resync: every object is reconciled again this often, so a condition
// that depends on time (a grace period, a workload-cluster probe) is re-read while the test waits.
const boxSyncPeriod = 15 * time.Second

// boxManagement is a second management cluster for the box: the same kube-apiserver + etcd + upstream webhooks as
// startManagement, plus the pinned CAPI controllers run from this process the way the three provider binaries run
// them (CAPI core, kubeadm control plane, kubeadm bootstrap): one manager and one ClusterCache each.
type boxManagement struct {
	*management
	// reachable: the clusters whose workload API server the box has started; the ClusterCaches connect to a cluster
	// only then (clusterFilter).
	mu        sync.Mutex
	reachable map[client.ObjectKey]bool
}

// setReachable tells the ClusterCaches that the workload API server of the cluster is (or is no longer) serving.
func (b *boxManagement) setReachable(key client.ObjectKey, up bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reachable[key] = up
}

// clusterFilter is the ClusterCache's ClusterFilter. A real ClusterCache connects as soon as the infrastructure is
// provisioned and, failing (there is no API server until the first control-plane instance boots), waits 30 s
// before it tries again; the box knows when the server starts, so the caches wait for that instead.
func (b *boxManagement) clusterFilter(c *clusterv1.Cluster) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reachable[client.ObjectKeyFromObject(c)]
}

// startBoxManagement starts the box's management cluster: startManagement's environment (so the objects pass the
// same webhooks), then the controllers.
func startBoxManagement(in *input, scheme *runtime.Scheme) (*boxManagement, error) {
	m, err := startManagement(in, scheme)
	if err != nil {
		return nil, err
	}
	b := &boxManagement{management: m, reachable: map[client.ObjectKey]bool{}}
	if !feature.Gates.Enabled(feature.MachinePool) {
		return nil, errors.Join(fmt.Errorf("the box needs the MachinePool feature gate on (feature gates %q)", in.FeatureGates), m.stop())
	}
	if err := labelContracts(m.ctx, m.client); err != nil {
		return nil, errors.Join(err, m.stop())
	}
	// The v1beta1 conversion webhooks ask which apiVersion a referenced kind is served at, as CAPI's and KCP's
	// main.go set up (their getter is internal/contract; this one reads the same contract labels).
	getter := func(gk schema.GroupKind) (string, error) { return contractAPIVersion(m.ctx, m.client, gk) }
	clusterv1beta1.SetAPIVersionGetter(getter)
	controlplanev1beta1.SetAPIVersionGetter(getter)
	for _, setup := range []func(*runtime.Scheme) (manager.Manager, error){b.coreManager, b.controlPlaneManager, b.bootstrapManager} {
		mgr, err := setup(scheme)
		if err != nil {
			return nil, errors.Join(err, m.stop())
		}
		m.run(mgr)
	}
	return b, nil
}

// contractLabels are the labels the providers' CRD kustomizations add when clusterctl (or the operator) installs
// them, and which the CAPI controllers read to know which contract a referenced kind follows
// (controlplane/kubeadm/config/crd/kustomization.yaml and bootstrap/kubeadm/config/crd/kustomization.yaml in
// cluster-api v1.13.4; config/crd/kustomization.yaml in cluster-api-provider-aws v2.13.0). The pinned CRD files are
// the bases, without them.
var contractLabels = map[string]map[string]string{
	"controlplane.cluster.x-k8s.io":   {"cluster.x-k8s.io/v1beta1": "v1beta1", "cluster.x-k8s.io/v1beta2": "v1beta2"},
	"bootstrap.cluster.x-k8s.io":      {"cluster.x-k8s.io/v1beta1": "v1beta1", "cluster.x-k8s.io/v1beta2": "v1beta2"},
	"infrastructure.cluster.x-k8s.io": {"cluster.x-k8s.io/v1alpha3": "v1alpha3", "cluster.x-k8s.io/v1alpha4": "v1alpha4", "cluster.x-k8s.io/v1beta1": "v1beta1_v1beta2"},
}

func labelContracts(ctx context.Context, c client.Client) error {
	crds := &unstructured.UnstructuredList{}
	crds.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinitionList"})
	if err := c.List(ctx, crds); err != nil {
		return err
	}
	for i := range crds.Items {
		crd := &crds.Items[i]
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		add, ok := contractLabels[group]
		if !ok {
			continue
		}
		before := crd.DeepCopy()
		labels := crd.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		for k, v := range add {
			labels[k] = v
		}
		crd.SetLabels(labels)
		if err := c.Patch(ctx, crd, client.MergeFrom(before)); err != nil {
			return fmt.Errorf("labelling CRD %s with its contract: %w", crd.GetName(), err)
		}
	}
	return nil
}

// contractAPIVersion is the latest apiVersion of a kind's CRD under the newest contract label it carries
// (cluster.x-k8s.io/v1beta2, else cluster.x-k8s.io/v1beta1; the value lists versions joined by "_").
func contractAPIVersion(ctx context.Context, c client.Reader, gk schema.GroupKind) (string, error) {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	if err := c.Get(ctx, client.ObjectKey{Name: contract.CalculateCRDName(gk.Group, gk.Kind)}, crd); err != nil {
		return "", fmt.Errorf("apiVersion of %s: %w", gk, err)
	}
	for _, label := range []string{"cluster.x-k8s.io/v1beta2", "cluster.x-k8s.io/v1beta1"} {
		if v := crd.Labels[label]; v != "" {
			versions := strings.Split(v, "_")
			sort.Slice(versions, func(i, j int) bool { return version.CompareKubeAwareVersionStrings(versions[i], versions[j]) < 0 })
			return schema.GroupVersion{Group: gk.Group, Version: versions[len(versions)-1]}.String(), nil
		}
	}
	return "", fmt.Errorf("apiVersion of %s: CRD %s has no contract label", gk, crd.Name)
}

// providerManager is a manager as the providers' main.go configure theirs: Secrets and ConfigMaps read uncached,
// unstructured objects (the infrastructure kinds) through the cache, no metrics or probe port (loopback only,
// nothing to leave behind), several providers in one process (controller names repeat: one clustercache each).
func (b *boxManagement) providerManager(scheme *runtime.Scheme) (manager.Manager, error) {
	return ctrl.NewManager(b.cfg, manager.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{SyncPeriod: ptr.To(boxSyncPeriod)},
		Client: client.Options{Cache: &client.CacheOptions{
			DisableFor:   []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}},
			Unstructured: true,
		}},
		Controller: config.Controller{
			SkipNameValidation: ptr.To(true),
			UsePriorityQueue:   ptr.To(feature.Gates.Enabled(feature.PriorityQueue)),
		},
	})
}

// secretCachingClient reads Secrets through the manager's cache, as the providers' setup.CreateSecretCachingClient.
func secretCachingClient(mgr manager.Manager) (client.Client, error) {
	return client.New(mgr.GetConfig(), client.Options{HTTPClient: mgr.GetHTTPClient(), Cache: &client.CacheOptions{Reader: mgr.GetCache()}})
}

func (b *boxManagement) clusterCache(mgr manager.Manager, name string, cacheOpts clustercache.CacheOptions, disable []client.Object) (clustercache.ClusterCache, error) {
	secrets, err := secretCachingClient(mgr)
	if err != nil {
		return nil, err
	}
	return clustercache.SetupWithManager(b.ctx, mgr, clustercache.Options{
		SecretClient:  secrets,
		Cache:         cacheOpts,
		ClusterFilter: b.clusterFilter,
		Client: clustercache.ClientOptions{
			QPS: 20, Burst: 30,
			UserAgent: remote.DefaultClusterAPIUserAgent(name),
			Cache:     clustercache.ClientCacheOptions{DisableFor: disable},
		},
	}, controller.Options{MaxConcurrentReconciles: 10})
}

// coreManager runs what CAPI's main.go sets up for the kinds a capi-gitops render uses (ClusterClass/topology and
// the Runtime SDK are off, as their feature gates are by default).
func (b *boxManagement) coreManager(scheme *runtime.Scheme) (manager.Manager, error) {
	mgr, err := b.providerManager(scheme)
	if err != nil {
		return nil, err
	}
	if err := index.AddDefaultIndexes(b.ctx, mgr); err != nil {
		return nil, fmt.Errorf("CAPI indexes: %w", err)
	}
	cc, err := b.clusterCache(mgr, "cluster-api-controller-manager", clustercache.CacheOptions{
		Indexes:  []clustercache.CacheOptionsIndex{clustercache.NodeProviderIDIndex},
		ByObject: map[client.Object]cache.ByObject{&corev1.Node{}: {Transform: cache.TransformStripManagedFields()}},
	}, []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}, &corev1.Pod{}, &appsv1.DaemonSet{}, &storagev1.VolumeAttachment{}, &corev1.PersistentVolume{}})
	if err != nil {
		return nil, fmt.Errorf("CAPI ClusterCache: %w", err)
	}
	opts := controller.Options{MaxConcurrentReconciles: 10}
	c, r := mgr.GetClient(), mgr.GetAPIReader()
	for name, setup := range map[string]func() error{
		"Cluster": func() error {
			return (&capicontrollers.ClusterReconciler{Client: c, APIReader: r, ClusterCache: cc, RemoteConnectionGracePeriod: 50 * time.Second}).SetupWithManager(b.ctx, mgr, opts)
		},
		"Machine": func() error {
			return (&capicontrollers.MachineReconciler{Client: c, APIReader: r, ClusterCache: cc, RemoteConditionsGracePeriod: 5 * time.Minute}).SetupWithManager(b.ctx, mgr, opts)
		},
		"MachineSet": func() error {
			return (&capicontrollers.MachineSetReconciler{Client: c, APIReader: r, ClusterCache: cc, PreflightChecks: sets.New(clusterv1.MachineSetPreflightCheckAll)}).SetupWithManager(b.ctx, mgr, opts)
		},
		"MachineDeployment": func() error {
			return (&capicontrollers.MachineDeploymentReconciler{Client: c, APIReader: r}).SetupWithManager(b.ctx, mgr, opts)
		},
		"MachinePool": func() error {
			return (&capicontrollers.MachinePoolReconciler{Client: c, APIReader: r, ClusterCache: cc}).SetupWithManager(b.ctx, mgr, opts)
		},
		"ClusterResourceSet": func() error {
			// The CRS controller watches Secrets through a metadata-only cache of its own, as CAPI's main.go sets up.
			partialSecrets, err := cache.New(mgr.GetConfig(), cache.Options{
				Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(), HTTPClient: mgr.GetHTTPClient(),
				SyncPeriod:       ptr.To(boxSyncPeriod),
				DefaultTransform: cache.TransformStripManagedFields(),
			})
			if err != nil {
				return err
			}
			if err := mgr.Add(partialSecrets); err != nil {
				return err
			}
			return (&capicontrollers.ClusterResourceSetReconciler{Client: c, ClusterCache: cc}).SetupWithManager(b.ctx, mgr, opts, partialSecrets)
		},
		"ClusterResourceSetBinding": func() error {
			return (&capicontrollers.ClusterResourceSetBindingReconciler{Client: c}).SetupWithManager(b.ctx, mgr, opts)
		},
		"MachineHealthCheck": func() error {
			return (&capicontrollers.MachineHealthCheckReconciler{Client: c, ClusterCache: cc}).SetupWithManager(b.ctx, mgr, opts)
		},
	} {
		if err := setup(); err != nil {
			return nil, fmt.Errorf("%s controller: %w", name, err)
		}
	}
	return mgr, nil
}

// controlPlaneManager runs KubeadmControlPlane as controlplane/kubeadm/main.go does, with its ClusterCache caching
// the kubeadm static pods and the nodes (the fields KCP reads).
func (b *boxManagement) controlPlaneManager(scheme *runtime.Scheme) (manager.Manager, error) {
	mgr, err := b.providerManager(scheme)
	if err != nil {
		return nil, err
	}
	podSelector := labels.NewSelector()
	for _, r := range []struct {
		key    string
		op     selection.Operator
		values []string
	}{
		{"tier", selection.Equals, []string{"control-plane"}},
		{"component", selection.In, []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"}},
	} {
		req, err := labels.NewRequirement(r.key, r.op, r.values)
		if err != nil {
			return nil, err
		}
		podSelector = podSelector.Add(*req)
	}
	cc, err := b.clusterCache(mgr, "kubeadm-control-plane-manager", clustercache.CacheOptions{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:  {Namespaces: map[string]cache.Config{"kube-system": {LabelSelector: podSelector, Transform: cache.TransformStripManagedFields()}}},
			&corev1.Node{}: {Transform: cache.TransformStripManagedFields()},
		},
	}, []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}, &appsv1.Deployment{}, &appsv1.DaemonSet{}})
	if err != nil {
		return nil, fmt.Errorf("KCP ClusterCache: %w", err)
	}
	secrets, err := secretCachingClient(mgr)
	if err != nil {
		return nil, err
	}
	if err := (&kubeadmcontrolplanecontrollers.KubeadmControlPlaneReconciler{
		Client:                      mgr.GetClient(),
		APIReader:                   mgr.GetAPIReader(),
		SecretCachingClient:         secrets,
		ClusterCache:                cc,
		EtcdDialTimeout:             10 * time.Second,
		EtcdCallTimeout:             15 * time.Second,
		EtcdLogger:                  zap.NewNop(),
		RemoteConditionsGracePeriod: 5 * time.Minute,
	}).SetupWithManager(b.ctx, mgr, controller.Options{MaxConcurrentReconciles: 10, ReconciliationTimeout: 3 * time.Minute}); err != nil {
		return nil, fmt.Errorf("KubeadmControlPlane controller: %w", err)
	}
	return mgr, nil
}

// bootstrapManager runs KubeadmConfig as bootstrap/kubeadm/main.go does.
func (b *boxManagement) bootstrapManager(scheme *runtime.Scheme) (manager.Manager, error) {
	mgr, err := b.providerManager(scheme)
	if err != nil {
		return nil, err
	}
	cc, err := b.clusterCache(mgr, "kubeadm-bootstrap-manager", clustercache.CacheOptions{}, []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}})
	if err != nil {
		return nil, fmt.Errorf("CABPK ClusterCache: %w", err)
	}
	secrets, err := secretCachingClient(mgr)
	if err != nil {
		return nil, err
	}
	if err := (&kubeadmbootstrapcontrollers.KubeadmConfigReconciler{
		Client:              mgr.GetClient(),
		SecretCachingClient: secrets,
		ClusterCache:        cc,
		TokenTTL:            kubeadmbootstrapcontrollers.DefaultTokenTTL,
	}).SetupWithManager(b.ctx, mgr, controller.Options{MaxConcurrentReconciles: 10}); err != nil {
		return nil, fmt.Errorf("KubeadmConfig controller: %w", err)
	}
	return mgr, nil
}
