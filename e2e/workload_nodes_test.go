package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"

	"github.com/blang/semver/v4"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	kubeadmtypes "sigs.k8s.io/cluster-api/bootstrap/kubeadm/types"
	"sigs.k8s.io/cluster-api/bootstrap/kubeadm/types/upstream"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var metaGet = metav1.GetOptions{}

// kubeadmSettings is what kubeadm init takes from the cluster's objects (the KubeadmControlPlane's
// ClusterConfiguration and the Cluster's network), as the kubeadm bootstrap provider hands them to it.
type kubeadmSettings struct {
	version                     string
	imageRepository             string
	dnsDomain, serviceSubnet    string
	clusterConfigurationKubeadm string
	coreDNSTag                  string
}

func (w *workloadCluster) readKubeadmConfig(ctx context.Context, mgmt client.Client) (*kubeadmSettings, error) {
	cluster := &clusterv1.Cluster{}
	if err := mgmt.Get(ctx, client.ObjectKey{Namespace: w.namespace, Name: w.name}, cluster); err != nil {
		return nil, fmt.Errorf("cluster %s/%s: %w", w.namespace, w.name, err)
	}
	ref := cluster.Spec.ControlPlaneRef
	if ref.Kind != "KubeadmControlPlane" {
		return nil, fmt.Errorf("cluster %s/%s: control plane %s %q is not a KubeadmControlPlane", w.namespace, w.name, ref.Kind, ref.Name)
	}
	kcp := &controlplanev1.KubeadmControlPlane{}
	if err := mgmt.Get(ctx, client.ObjectKey{Namespace: w.namespace, Name: ref.Name}, kcp); err != nil {
		return nil, fmt.Errorf("cluster %s/%s: %w", w.namespace, w.name, err)
	}
	version, err := semver.ParseTolerant(kcp.Spec.Version)
	if err != nil {
		return nil, fmt.Errorf("KubeadmControlPlane %s/%s version %q: %w", kcp.Namespace, kcp.Name, kcp.Spec.Version, err)
	}
	s := &kubeadmSettings{version: "v" + version.String(), dnsDomain: "cluster.local", serviceSubnet: "10.96.0.0/12"}
	cc := kcp.Spec.KubeadmConfigSpec.ClusterConfiguration.DeepCopy()
	// What the kubeadm bootstrap provider adds to the ClusterConfiguration it hands kubeadm init
	// (computeClusterConfigurationAndAdditionalData): endpoint, cluster name, networks, version.
	if cc.ControlPlaneEndpoint == "" {
		cc.ControlPlaneEndpoint = net.JoinHostPort(loopback, strconv.Itoa(w.port))
		if cluster.Spec.ControlPlaneEndpoint.IsValid() {
			cc.ControlPlaneEndpoint = cluster.Spec.ControlPlaneEndpoint.String()
		}
	}
	data := &upstream.AdditionalData{ClusterName: ptr.To(cluster.Name), KubernetesVersion: ptr.To(s.version)}
	if d := cluster.Spec.ClusterNetwork.ServiceDomain; d != "" {
		s.dnsDomain = d
		data.DNSDomain = ptr.To(d)
	}
	if len(cluster.Spec.ClusterNetwork.Services.CIDRBlocks) > 0 {
		s.serviceSubnet = cluster.Spec.ClusterNetwork.Services.String()
		data.ServiceSubnet = ptr.To(s.serviceSubnet)
	}
	if len(cluster.Spec.ClusterNetwork.Pods.CIDRBlocks) > 0 {
		data.PodSubnet = ptr.To(cluster.Spec.ClusterNetwork.Pods.String())
	}
	if s.clusterConfigurationKubeadm, err = kubeadmtypes.MarshalClusterConfigurationForVersion(cc, version, data); err != nil {
		return nil, err
	}
	s.imageRepository = cc.ImageRepository
	if s.imageRepository == "" {
		s.imageRepository = "registry.k8s.io"
	}
	s.coreDNSTag = coreDNSVersion(version)
	if cc.DNS.ImageTag != "" {
		s.coreDNSTag = cc.DNS.ImageTag
	}
	return s, nil
}

// coreDNSVersion is the CoreDNS kubeadm of that minor installs (cmd/kubeadm/app/constants CoreDNSVersion).
func coreDNSVersion(v semver.Version) string {
	switch {
	case v.Minor <= 32:
		return "v1.11.3"
	case v.Minor == 33:
		return "v1.12.0"
	case v.Minor == 34:
		return "v1.12.1"
	default:
		return "v1.13.1"
	}
}

// createKubeadmObjects creates what kubeadm init's upload-config and addon phases leave in kube-system and the
// CAPI controllers read: kubeadm-config (KCP updates its ClusterConfiguration on upgrades and reads it for status),
// kubelet-config, CoreDNS (ConfigMap + Deployment, KCP's CoreDNS upgrade) and the kube-proxy DaemonSet (KCP sets
// its image to the control plane's version). No controller-manager runs, so the Deployment and DaemonSet create no
// Pods.
func (w *workloadCluster) createKubeadmObjects(ctx context.Context, cfg *kubeadmSettings) error {
	cs, err := w.clientset()
	if err != nil {
		return err
	}
	const ns = metav1.NamespaceSystem
	create := func(err error) error {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	kubeletConfig := `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: Webhook
cgroupDriver: systemd
clusterDNS:
- ` + mustFirstIP(cfg.serviceSubnet, 10) + `
clusterDomain: ` + cfg.dnsDomain + `
rotateCertificates: true
staticPodPath: /etc/kubernetes/manifests
`
	corefile := `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes ` + cfg.dnsDomain + ` in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success ` + cfg.dnsDomain + `
       disable denial ` + cfg.dnsDomain + `
    }
    loop
    reload
    loadbalance
}
`
	for _, cm := range []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Name: "kubeadm-config", Namespace: ns}, Data: map[string]string{"ClusterConfiguration": cfg.clusterConfigurationKubeadm}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kubelet-config", Namespace: ns}, Data: map[string]string{"kubelet": kubeletConfig}},
		{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: ns}, Data: map[string]string{"Corefile": corefile}},
	} {
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); create(err) != nil {
			return fmt.Errorf("ConfigMap kube-system/%s: %w", cm.Name, err)
		}
	}
	dnsLabels := map[string]string{"k8s-app": "kube-dns"}
	coredns := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: ns, Labels: dnsLabels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: dnsLabels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: dnsLabels},
				Spec: corev1.PodSpec{
					PriorityClassName: "system-cluster-critical",
					Containers: []corev1.Container{{
						Name:         "coredns",
						Image:        cfg.imageRepository + "/coredns/coredns:" + cfg.coreDNSTag,
						Args:         []string{"-conf", "/etc/coredns/Corefile"},
						VolumeMounts: []corev1.VolumeMount{{Name: "config-volume", MountPath: "/etc/coredns", ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{{Name: "config-volume", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
						LocalObjectReference: corev1.LocalObjectReference{Name: "coredns"},
						Items:                []corev1.KeyToPath{{Key: "Corefile", Path: "Corefile"}},
					}}}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, coredns, metav1.CreateOptions{}); create(err) != nil {
		return fmt.Errorf("Deployment kube-system/coredns: %w", err)
	}
	proxyLabels := map[string]string{"k8s-app": "kube-proxy"}
	kubeProxy := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy", Namespace: ns, Labels: proxyLabels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: proxyLabels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: proxyLabels},
				Spec: corev1.PodSpec{
					PriorityClassName: "system-node-critical",
					HostNetwork:       true,
					Containers: []corev1.Container{{
						Name:    "kube-proxy",
						Image:   cfg.imageRepository + "/kube-proxy:" + cfg.version,
						Command: []string{"/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"},
					}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().DaemonSets(ns).Create(ctx, kubeProxy, metav1.CreateOptions{}); create(err) != nil {
		return fmt.Errorf("DaemonSet kube-system/kube-proxy: %w", err)
	}
	return nil
}

func mustFirstIP(cidr string, offset byte) string {
	ip, err := firstIP(cidr)
	if err != nil {
		return ""
	}
	ip[len(ip)-1] += offset - 1
	return ip.String()
}

const (
	labelControlPlane = "node-role.kubernetes.io/control-plane"
	staticPodPort     = 2379
)

// staticPods are the control-plane components kubeadm runs as static pods; the kubelet mirrors each as
// kube-system/<component>-<node>.
var staticPods = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"}

// RegisterNode is what an instance's boot does in the workload cluster: for a control-plane node kubeadm join adds
// its etcd member (kubeadm init's first member for the first one); the kubelet registers the Node (provider ID,
// addresses, version, its endpoint) Ready and mirrors the static pods; kubeadm marks control-plane nodes (label
// and taint); the cloud provider sets the zone and instance-type labels.
func (w *workloadCluster) RegisterNode(ctx context.Context, n workloadNode) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		return fmt.Errorf("workload %s/%s is not started: no API server to register Node %s with", w.namespace, w.name, n.Name)
	}
	if n.Name == "" || n.InternalIP == "" {
		return fmt.Errorf("node %+v: name and InternalIP are required", n)
	}
	cs, err := w.clientset()
	if err != nil {
		return err
	}
	if n.ControlPlane {
		if err := w.addEtcdMember(ctx, n.Name); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	k, ok := w.kubelets[n.Name]
	if !ok {
		k, err = startKubelet(n.Name, n.InternalIP, w.ca, w.pki, w.staticPodTarget(n.Name))
		if err != nil {
			return err
		}
		w.kubelets[n.Name] = k
		w.ports = append(w.ports, k.port)
		w.egress.route(hostPort(n.InternalIP, k.port), hostPort(loopback, k.port))
	}

	labels := map[string]string{
		"kubernetes.io/hostname":           n.Name,
		"kubernetes.io/os":                 "linux",
		"kubernetes.io/arch":               "amd64",
		"node.kubernetes.io/instance-type": n.InstanceType,
		"topology.kubernetes.io/zone":      n.Zone,
	}
	if region := awsRegion(n.Zone); region != "" {
		labels["topology.kubernetes.io/region"] = region
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: labels},
		Spec:       corev1.NodeSpec{ProviderID: n.ProviderID},
	}
	if n.ControlPlane {
		node.Labels[labelControlPlane] = ""
		node.Labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
		node.Spec.Taints = []corev1.Taint{{Key: labelControlPlane, Effect: corev1.TaintEffectNoSchedule}}
	}
	created, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = cs.CoreV1().Nodes().Get(ctx, n.Name, metaGet)
	}
	if err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	now := metav1.Now()
	created.Status = corev1.NodeStatus{
		Capacity:    nodeResources(),
		Allocatable: nodeResources(),
		Phase:       corev1.NodeRunning,
		Conditions: append(pressureConditions(now), corev1.NodeCondition{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status",
			LastHeartbeatTime: now, LastTransitionTime: now,
		}),
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.InternalIP},
			{Type: corev1.NodeInternalDNS, Address: n.Name},
			{Type: corev1.NodeHostName, Address: n.Name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(k.port)}},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion:          n.Version,
			OperatingSystem:         "linux",
			Architecture:            "amd64",
			ContainerRuntimeVersion: "containerd://2.1.4",
			OSImage:                 "capi-gitops box (no real instance)",
		},
	}
	updated, err := cs.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("node %s status: %w", n.Name, err)
	}
	if err := setNotReadyTaints(ctx, cs, updated, true); err != nil {
		return err
	}
	if n.ControlPlane {
		for _, c := range staticPods {
			if err := w.createMirrorPod(ctx, cs, created, c, n.InternalIP, n.Version); err != nil {
				return err
			}
		}
	}
	return nil
}

// staticPodTarget says where a static pod's port of this node is served on 127.0.0.1. It runs on the kubelet
// stand-in's connections, so it does not take w.mu (held while a node joins or leaves).
func (w *workloadCluster) staticPodTarget(node string) func(string, int32) (string, error) {
	return func(pod string, port int32) (string, error) {
		switch pod {
		case "etcd-" + node:
			if port != 0 && port != staticPodPort {
				return "", fmt.Errorf("pod %s serves no port %d", pod, port)
			}
			m, ok := w.etcdByNode.Load(node)
			if !ok || m.(*etcdMember).p.exited() {
				return "", fmt.Errorf("etcd on node %s is not running", node)
			}
			return hostPort(loopback, m.(*etcdMember).clientPort), nil
		case "kube-apiserver-" + node:
			return hostPort(loopback, w.port), nil
		}
		return "", fmt.Errorf("no pod %s on node %s", pod, node)
	}
}

func (w *workloadCluster) createMirrorPod(ctx context.Context, cs kubernetes.Interface, node *corev1.Node, component, ip, version string) error {
	// The node's kubelet runs the static pods kubeadm wrote for its version (etcd: kubeadm 1.35's etcd image).
	image := w.images + "/" + component + ":" + version
	if component == "etcd" {
		image = w.images + "/etcd:3.6.6-0"
	}
	labels := map[string]string{"component": component, "tier": "control-plane"}
	hash := fmt.Sprintf("%x", []byte(component+node.Name))[:32]
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: component + "-" + node.Name, Namespace: metav1.NamespaceSystem, Labels: labels,
			Annotations: map[string]string{
				"kubernetes.io/config.mirror": hash,
				"kubernetes.io/config.hash":   hash,
				"kubernetes.io/config.source": "file",
			},
			// The kubelet makes its Node the owner of a mirror pod.
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: ptr.To(true)}},
		},
		Spec: corev1.PodSpec{
			NodeName:          node.Name,
			HostNetwork:       true,
			PriorityClassName: "system-node-critical",
			Containers:        []corev1.Container{{Name: component, Image: image, Command: []string{component}}},
			Tolerations:       []corev1.Toleration{{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}},
		},
	}
	created, err := cs.CoreV1().Pods(metav1.NamespaceSystem).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = cs.CoreV1().Pods(metav1.NamespaceSystem).Get(ctx, pod.Name, metaGet)
	}
	if err != nil {
		return fmt.Errorf("mirror pod kube-system/%s: %w", pod.Name, err)
	}
	now := metav1.Now()
	cond := func(t corev1.PodConditionType) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now}
	}
	created.Status = corev1.PodStatus{
		Phase:      corev1.PodRunning,
		Conditions: []corev1.PodCondition{cond(corev1.PodInitialized), cond(corev1.PodReady), cond(corev1.ContainersReady), cond(corev1.PodScheduled)},
		HostIP:     ip,
		PodIP:      ip,
		StartTime:  &now,
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: component, Ready: true, Started: ptr.To(true), Image: image, ImageID: image,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		}},
	}
	if _, err := cs.CoreV1().Pods(metav1.NamespaceSystem).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("mirror pod kube-system/%s status: %w", pod.Name, err)
	}
	return nil
}

// SetNodeReady sets the Node's Ready condition as its kubelet would report it (False: KubeletNotReady).
func (w *workloadCluster) SetNodeReady(ctx context.Context, name string, ready bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		return fmt.Errorf("workload %s/%s is not started", w.namespace, w.name)
	}
	cs, err := w.clientset()
	if err != nil {
		return err
	}
	node, err := cs.CoreV1().Nodes().Get(ctx, name, metaGet)
	if err != nil {
		return err
	}
	now := metav1.Now()
	c := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}
	if !ready {
		c.Status, c.Reason, c.Message = corev1.ConditionFalse, "KubeletNotReady", "container runtime network not ready"
	}
	found := false
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			if node.Status.Conditions[i].Status == c.Status {
				c.LastTransitionTime = node.Status.Conditions[i].LastTransitionTime
			}
			node.Status.Conditions[i] = c
			found = true
		}
	}
	if !found {
		node.Status.Conditions = append(node.Status.Conditions, c)
	}
	updated, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	return setNotReadyTaints(ctx, cs, updated, ready)
}

// setNotReadyTaints does what the node lifecycle controller of kube-controller-manager (not running here) does on a
// Ready change: a Node that is not Ready carries node.kubernetes.io/not-ready NoSchedule (the admission plugin
// TaintNodesByCondition puts it on every new Node) and NoExecute; a Ready one neither.
func setNotReadyTaints(ctx context.Context, cs kubernetes.Interface, node *corev1.Node, ready bool) error {
	var taints []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Key != corev1.TaintNodeNotReady {
			taints = append(taints, t)
		}
	}
	if !ready {
		now := metav1.Now()
		taints = append(taints,
			corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule},
			corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute, TimeAdded: &now})
	}
	if reflect.DeepEqual(taints, node.Spec.Taints) {
		return nil
	}
	node.Spec.Taints = taints
	if _, err := cs.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("node %s taints: %w", node.Name, err)
	}
	return nil
}

// RemoveNode is the instance going away: its static pods' mirrors and its Node go (no garbage collector runs here,
// so the mirror pods are deleted explicitly; CAPI may have deleted the Node already), a control-plane node's etcd
// member leaves the cluster (KCP may have removed it already) and its kubelet stops.
func (w *workloadCluster) RemoveNode(ctx context.Context, name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		return fmt.Errorf("workload %s/%s is not started", w.namespace, w.name)
	}
	cs, err := w.clientset()
	if err != nil {
		return err
	}
	var errs []error
	ignore := func(err error) error {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	for _, c := range staticPods {
		errs = append(errs, ignore(cs.CoreV1().Pods(metav1.NamespaceSystem).Delete(ctx, c+"-"+name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})))
	}
	errs = append(errs, ignore(cs.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})))
	errs = append(errs, w.removeEtcdMember(ctx, name))
	if k, ok := w.kubelets[name]; ok {
		w.egress.route(hostPort(k.ip, k.port), "")
		errs = append(errs, k.stop())
		delete(w.kubelets, name)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	return nil
}

func nodeResources() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("2"),
		corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
}

func pressureConditions(now metav1.Time) []corev1.NodeCondition {
	var out []corev1.NodeCondition
	for _, t := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		out = append(out, corev1.NodeCondition{Type: t, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficient" + strings.TrimPrefix(string(t), "Node"), LastHeartbeatTime: now, LastTransitionTime: now})
	}
	return out
}

// awsRegion is the region of an AWS availability zone name ("eu-west-1a" → "eu-west-1").
func awsRegion(zone string) string {
	if len(zone) < 2 {
		return ""
	}
	last := zone[len(zone)-1]
	if last >= 'a' && last <= 'z' {
		return zone[:len(zone)-1]
	}
	return ""
}
