package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	kubeadmtypes "sigs.k8s.io/cluster-api/bootstrap/kubeadm/types"
	"sigs.k8s.io/cluster-api/util/certs"
	"sigs.k8s.io/cluster-api/util/kubeconfig"
	"sigs.k8s.io/cluster-api/util/secret"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestWorkloadCluster drives one workload cluster the way the box does: the cluster's certificates as the kubeadm
// control plane generates them (CAPI's util/secret) and its kubeconfig (util/kubeconfig), Start, three control-plane
// nodes and a worker, etcd read through pods/portforward as KCP reads it, a node removed, Stop.
func TestWorkloadCluster(t *testing.T) {
	ctx := context.Background()
	const ns, name, version = "workload-test", "wl", "v1.35.4"
	if err := env.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	w, err := newWorkloadCluster(in.Assets, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			if err := w.Stop(); err != nil {
				t.Error(err)
			}
		}
	})
	host, port := w.Endpoint()
	if host != loopback || port <= 0 {
		t.Fatalf("endpoint %s:%d", host, port)
	}
	cluster := &clusterv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clusterv1.ClusterSpec{
			ClusterNetwork: clusterv1.ClusterNetwork{
				Services: clusterv1.NetworkRanges{CIDRBlocks: []string{"10.96.0.0/12"}},
				Pods:     clusterv1.NetworkRanges{CIDRBlocks: []string{"192.168.0.0/16"}},
			},
			ControlPlaneEndpoint: clusterv1.APIEndpoint{Host: host, Port: port},
			ControlPlaneRef:      clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "KubeadmControlPlane", Name: name},
			InfrastructureRef:    clusterv1.ContractVersionedObjectReference{APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "AWSCluster", Name: name},
		},
	}
	kcp := &controlplanev1.KubeadmControlPlane{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: controlplanev1.KubeadmControlPlaneSpec{
			Replicas: ptrTo[int32](3),
			Version:  version,
			MachineTemplate: controlplanev1.KubeadmControlPlaneMachineTemplate{Spec: controlplanev1.KubeadmControlPlaneMachineTemplateSpec{
				InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: "infrastructure.cluster.x-k8s.io", Kind: "AWSMachineTemplate", Name: name + "-control-plane"},
			}},
		},
	}
	for _, o := range []client.Object{cluster, kcp} {
		if err := env.client.Create(ctx, o); err != nil {
			t.Fatalf("%T: %v", o, err)
		}
	}

	// Before the kubeadm control plane generated the certificates, Start refuses.
	if err := w.Start(ctx, env.client); err == nil || !strings.Contains(err.Error(), name+"-ca") {
		t.Fatalf("Start without the cluster's secrets: want an error naming %s-ca, got %v", name, err)
	}
	if w.Started() {
		t.Fatal("Started after a failed Start")
	}
	owner := metav1.OwnerReference{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: name, UID: cluster.UID}
	key := client.ObjectKey{Namespace: ns, Name: name}
	generated := secret.NewCertificatesForInitialControlPlane(nil)
	if err := generated.Generate(); err != nil {
		t.Fatal(err)
	}
	if err := generated.SaveGenerated(ctx, env.client, key, owner); err != nil {
		t.Fatal(err)
	}
	if err := kubeconfig.CreateSecretWithOwner(ctx, env.client, key, net.JoinHostPort(host, strconv.Itoa(int(port))), owner); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	if err := w.Start(ctx, env.client); err != nil {
		t.Fatal(err)
	}
	t.Logf("Start: %.1f s", time.Since(began).Seconds())
	if err := w.Start(ctx, env.client); err != nil || !w.Started() {
		t.Fatalf("a second Start: %v (started %v)", err, w.Started())
	}

	// The kubeconfig the kubeadm control plane would write authenticates (client certificate from the cluster CA).
	data, err := kubeconfig.FromSecret(ctx, env.client, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if sv.GitVersion != version {
		t.Errorf("workload API server is %s, want %s", sv.GitVersion, version)
	}
	kubeadmConfig, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "kubeadm-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cc, extra, err := kubeadmtypes.UnmarshalClusterConfiguration(kubeadmConfig.Data["ClusterConfiguration"])
	if err != nil {
		t.Fatalf("kubeadm-config as KCP reads it: %v", err)
	}
	if cc.ControlPlaneEndpoint != net.JoinHostPort(host, strconv.Itoa(int(port))) || extra.KubernetesVersion == nil || *extra.KubernetesVersion != version {
		t.Errorf("kubeadm-config: endpoint %q, version %v", cc.ControlPlaneEndpoint, extra.KubernetesVersion)
	}
	for _, get := range []func() error{
		func() error {
			_, err := cs.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := cs.AppsV1().DaemonSets("kube-system").Get(ctx, "kube-proxy", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
			return err
		},
	} {
		if err := get(); err != nil {
			t.Error(err)
		}
	}

	nodes := []workloadNode{
		{Name: "ip-10-0-1-10.ec2.internal", ProviderID: "aws:///eu-west-1a/i-0000000000000001", Zone: "eu-west-1a", InstanceType: "m6i.large", Version: version, InternalIP: "10.0.1.10", ControlPlane: true},
		{Name: "ip-10-0-2-10.ec2.internal", ProviderID: "aws:///eu-west-1b/i-0000000000000002", Zone: "eu-west-1b", InstanceType: "m6i.large", Version: version, InternalIP: "10.0.2.10", ControlPlane: true},
		{Name: "ip-10-0-3-10.ec2.internal", ProviderID: "aws:///eu-west-1c/i-0000000000000003", Zone: "eu-west-1c", InstanceType: "m6i.large", Version: version, InternalIP: "10.0.3.10", ControlPlane: true},
		{Name: "ip-10-0-1-20.ec2.internal", ProviderID: "aws:///eu-west-1a/i-0000000000000004", Zone: "eu-west-1a", InstanceType: "t3.large", Version: version, InternalIP: "10.0.1.20"},
	}
	for _, n := range nodes {
		began := time.Now()
		if err := w.RegisterNode(ctx, n); err != nil {
			t.Fatal(err)
		}
		t.Logf("RegisterNode %s (control plane %v): %.2f s", n.Name, n.ControlPlane, time.Since(began).Seconds())
	}
	for _, n := range nodes {
		node, err := cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if node.Spec.ProviderID != n.ProviderID || node.Labels["topology.kubernetes.io/zone"] != n.Zone || node.Labels["node.kubernetes.io/instance-type"] != n.InstanceType || node.Status.NodeInfo.KubeletVersion != n.Version {
			t.Errorf("node %s: %+v %v %+v", n.Name, node.Spec, node.Labels, node.Status.NodeInfo)
		}
		_, isCP := node.Labels[labelControlPlane]
		if isCP != n.ControlPlane || (len(node.Spec.Taints) == 1) != n.ControlPlane {
			t.Errorf("node %s: control-plane label %v, taints %v", n.Name, isCP, node.Spec.Taints)
		}
		if !n.ControlPlane {
			continue
		}
		for _, c := range staticPods {
			pod, err := cs.CoreV1().Pods("kube-system").Get(ctx, c+"-"+n.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if pod.Status.Phase != corev1.PodRunning || !podReady(pod) {
				t.Errorf("mirror pod %s: %s, ready %v", pod.Name, pod.Status.Phase, podReady(pod))
			}
		}
	}

	// etcd as KCP reads it: pods/portforward through the workload API server to etcd-<node>:2379, a client
	// certificate the management side issues from the etcd CA (CN cluster-api.x-k8s.io, as KCP's newClientCert).
	etcdCA := generated.GetByPurpose(secret.EtcdCA).KeyPair
	var cpNames []string
	for _, n := range nodes {
		if n.ControlPlane {
			cpNames = append(cpNames, n.Name)
		}
	}
	sort.Strings(cpNames)
	for _, node := range cpNames {
		got := etcdMembersThroughPortForward(ctx, t, cfg, etcdCA, node)
		if !reflect.DeepEqual(got, cpNames) {
			t.Errorf("etcd members seen through etcd-%s: %v, want %v", node, got, cpNames)
		}
	}
	// KCP's certificate-expiry check: the kube-apiserver serving certificate through kube-apiserver-<node>:6443.
	if cn := apiServerCertThroughPortForward(ctx, t, cfg, cpNames[0]); cn != "kube-apiserver" {
		t.Errorf("kube-apiserver-%s serves a certificate with CN %q, want kube-apiserver", cpNames[0], cn)
	}

	if err := w.SetNodeReady(ctx, nodes[3].Name, false); err != nil {
		t.Fatal(err)
	}
	if node, err := cs.CoreV1().Nodes().Get(ctx, nodes[3].Name, metav1.GetOptions{}); err != nil || nodeReady(node) || len(node.Spec.Taints) != 2 {
		t.Errorf("node %s after SetNodeReady(false): %v (%v)", nodes[3].Name, node, err)
	}
	if err := w.SetNodeReady(ctx, nodes[3].Name, true); err != nil {
		t.Fatal(err)
	}
	if node, err := cs.CoreV1().Nodes().Get(ctx, nodes[3].Name, metav1.GetOptions{}); err != nil || !nodeReady(node) || len(node.Spec.Taints) != 0 {
		t.Errorf("node %s after SetNodeReady(true): %v (%v)", nodes[3].Name, node, err)
	}

	rss := w.RSS()
	total := 0
	for _, v := range rss {
		total += v
	}
	t.Logf("RSS with 3 control-plane nodes: %v KiB, total %d MiB", rss, total/1024)

	// KCP's scale down of the machine hosting the etcd leader: leadership moved away (ForwardEtcdLeadership), the
	// member removed (RemoveEtcdMemberForMachine), both through the etcd pods, then the machine and its node go.
	victim := kcpScaleDown(ctx, t, cfg, etcdCA, cpNames)
	began = time.Now()
	if err := w.RemoveNode(ctx, victim); err != nil {
		t.Fatal(err)
	}
	t.Logf("RemoveNode %s: %.2f s", victim, time.Since(began).Seconds())
	if _, err := cs.CoreV1().Nodes().Get(ctx, victim, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("node %s after RemoveNode: %v", victim, err)
	}
	var want []string
	for _, n := range cpNames {
		if n != victim {
			want = append(want, n)
		}
	}
	if got := etcdMembersThroughPortForward(ctx, t, cfg, etcdCA, want[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("etcd members after RemoveNode: %v, want %v", got, want)
	}
	if err := w.RemoveNode(ctx, nodes[3].Name); err != nil {
		t.Fatal(err)
	}

	children := childProcesses()
	ports := append([]int{}, w.ports...)
	began = time.Now()
	stopped = true
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop: %.1f s", time.Since(began).Seconds())
	for _, pid := range children {
		if isManagementChild(pid) {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil && processState(pid) != "Z" {
			t.Errorf("process %d (%s) still running after Stop", pid, processName(pid))
		}
	}
	for _, p := range ports {
		if c, err := net.DialTimeout("tcp", hostPort(loopback, p), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still open after Stop", p)
		}
	}
	if w.Started() {
		t.Error("Started after Stop")
	}
	if err := w.RegisterNode(ctx, nodes[0]); err == nil {
		t.Error("RegisterNode after Stop succeeded")
	}
}

// portForward opens pods/portforward to kube-system/<pod>:<port> the way KCP's proxy dialer does (websocket
// tunnelling, SPDY as fallback), with client-go's port forwarder on a 127.0.0.1 port; it returns that port.
func portForward(ctx context.Context, t *testing.T, cfg *rest.Config, pod string, port int) int {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace("kube-system").Name(pod).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	tunnel, err := portforward.NewSPDYOverWebsocketDialer(u, cfg)
	if err != nil {
		t.Fatal(err)
	}
	dialer = portforward.NewFallbackDialer(tunnel, dialer, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{loopback}, []string{"0:" + strconv.Itoa(port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() { errs <- fw.ForwardPorts() }()
	t.Cleanup(func() { close(stop) })
	select {
	case <-ready:
	case err := <-errs:
		t.Fatalf("port-forward to %s: %v", pod, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("port-forward to %s not ready", pod)
	}
	ports, err := fw.GetPorts()
	if err != nil {
		t.Fatal(err)
	}
	return int(ports[0].Local)
}

func etcdMembersThroughPortForward(ctx context.Context, t *testing.T, cfg *rest.Config, etcdCA *certs.KeyPair, node string) []string {
	t.Helper()
	cli, endpoint := etcdThroughPortForward(ctx, t, cfg, etcdCA, node)
	defer cli.Close()
	lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	status, err := cli.Status(lctx, endpoint)
	if err != nil {
		t.Fatalf("etcd status through etcd-%s: %v", node, err)
	}
	if len(status.Errors) > 0 {
		t.Errorf("etcd through etcd-%s reports errors %v", node, status.Errors)
	}
	alarms, err := cli.AlarmList(lctx)
	if err != nil || len(alarms.Alarms) > 0 {
		t.Errorf("etcd alarms through etcd-%s: %v %v", node, alarms, err)
	}
	list, err := cli.MemberList(lctx)
	if err != nil {
		t.Fatalf("etcd member list through etcd-%s: %v", node, err)
	}
	var names []string
	for _, m := range list.Members {
		if m.IsLearner {
			t.Errorf("member %s is a learner", m.Name)
		}
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return names
}

// etcdThroughPortForward is an etcd client through pods/portforward to etcd-<node>, and its endpoint.
func etcdThroughPortForward(ctx context.Context, t *testing.T, cfg *rest.Config, etcdCA *certs.KeyPair, node string) (*clientv3.Client, string) {
	t.Helper()
	local := portForward(ctx, t, cfg, "etcd-"+node, 2379)
	ca, err := parseKeyPair(etcdCA.Cert, etcdCA.Key)
	if err != nil {
		t.Fatal(err)
	}
	key, err := certs.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := (&certs.Config{CommonName: "cluster-api.x-k8s.io", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}).NewSignedCert(key, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certs.EncodeCertPEM(c), certs.EncodePrivateKeyPEM(key))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{loopbackURL("https", local)},
		TLS:         &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		DialTimeout: 10 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return cli, loopbackURL("https", local)
}

func apiServerCertThroughPortForward(ctx context.Context, t *testing.T, cfg *rest.Config, node string) string {
	t.Helper()
	local := portForward(ctx, t, cfg, "kube-apiserver-"+node, 6443)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", hostPort(loopback, local), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reads the peer certificate, as KCP does
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func isManagementChild(pid int) bool {
	for _, p := range env.children {
		if p == pid {
			return true
		}
	}
	return false
}

func processState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	if f := strings.Fields(s[strings.LastIndex(s, ")")+1:]); len(f) > 0 {
		return f[0]
	}
	return ""
}

func ptrTo[T any](v T) *T { return &v }

func kcpScaleDown(ctx context.Context, t *testing.T, cfg *rest.Config, etcdCA *certs.KeyPair, nodes []string) string {
	t.Helper()
	cli, endpoint := etcdThroughPortForward(ctx, t, cfg, etcdCA, nodes[0])
	defer cli.Close()
	lctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	status, err := cli.Status(lctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	list, err := cli.MemberList(lctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]uint64{}
	names := map[uint64]string{}
	for _, m := range list.Members {
		byName[m.Name] = m.ID
		names[m.ID] = m.Name
	}
	leader := names[status.Leader]
	remove := leader
	leaderCli, _ := etcdThroughPortForward(ctx, t, cfg, etcdCA, leader)
	defer leaderCli.Close()
	var to string
	for _, n := range nodes {
		if n != remove {
			to = n
			break
		}
	}
	if _, err := leaderCli.MoveLeader(lctx, byName[to]); err != nil {
		t.Fatalf("move etcd leader from %s to %s: %v", leader, to, err)
	}
	t.Logf("etcd leadership moved from %s to %s", leader, to)
	// The removal goes through a member that stays (as KCP's does): the removed member stops itself, and a request
	// sent to it may come back "server stopped" although the removal was applied.
	toCli, _ := etcdThroughPortForward(ctx, t, cfg, etcdCA, to)
	defer toCli.Close()
	for {
		_, err := toCli.MemberRemove(lctx, byName[remove])
		if err == nil {
			break
		}
		if !errors.Is(err, rpctypes.ErrUnhealthy) || lctx.Err() != nil {
			t.Fatalf("remove etcd member %s: %v", remove, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	return remove
}
