package e2e

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/cluster-api/util/certs"
	"sigs.k8s.io/cluster-api/util/kubeconfig"
	"sigs.k8s.io/cluster-api/util/secret"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// workloadNode is an instance the stand-in infrastructure provider booted, as its kubelet registers it.
type workloadNode struct {
	Name, ProviderID, Zone, InstanceType, Version, InternalIP string
	ControlPlane                                              bool
}

// workloadCluster is the workload side of one cluster in the box: what kubeadm init leaves on the first
// control-plane machine (etcd and kube-apiserver with the certificates the kubeadm control-plane controller
// generated, the kube-system objects the controllers read) and what kubelets and kubeadm join add per instance
// (Nodes, static-pod mirror pods, one etcd member per control-plane node).
type workloadCluster struct {
	assets, namespace, name string
	port                    int

	mu      sync.Mutex
	started bool
	dir     string
	pki     string

	ca, etcdCA, proxyCA *keyPair
	etcdCAPath          string
	// etcdClientCert/Key: a client certificate from the etcd CA, used to add and remove members.
	etcdClientCert, etcdClientKey string

	// storage is the etcd kube-apiserver stores in; members are the etcd cluster of the control-plane nodes that
	// KCP inspects through pods/portforward (see workload_etcd_test.go).
	storage   *etcdMember
	apiserver *proc
	members   map[string]*etcdMember
	// etcdByNode mirrors members for the kubelet stand-ins (node name → *etcdMember).
	etcdByNode sync.Map
	kubelets   map[string]*kubeletStandIn
	egress     *egressProxy
	// ports ever opened, checked closed after Stop.
	ports []int

	cfg     *rest.Config
	version string
	images  string
}

// newWorkloadCluster reserves the loopback port the cluster's API server will serve on (the AWSCluster's
// control-plane endpoint); nothing runs until Start.
func newWorkloadCluster(assets, namespace, name string) (*workloadCluster, error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	return &workloadCluster{
		assets: assets, namespace: namespace, name: name, port: port,
		members: map[string]*etcdMember{}, kubelets: map[string]*kubeletStandIn{},
	}, nil
}

// Endpoint is where the API server serves: the AWSCluster's spec.controlPlaneEndpoint.
func (w *workloadCluster) Endpoint() (string, int32) { return loopback, int32(w.port) }

func (w *workloadCluster) Started() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.started
}

// Start does what kubeadm init does on the first control-plane machine: etcd and kube-apiserver with the cluster's
// certificates (read from the management cluster, where the kubeadm control-plane controller generated them), then
// the kube-system objects the CAPI controllers read. It fails when the certificates are not there yet.
func (w *workloadCluster) Start(ctx context.Context, mgmt client.Client) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return nil
	}
	began := time.Now()
	key := client.ObjectKey{Namespace: w.namespace, Name: w.name}
	pairs := map[secret.Purpose]*keyPair{}
	for _, purpose := range []secret.Purpose{secret.ClusterCA, secret.EtcdCA, secret.ServiceAccount, secret.FrontProxyCA} {
		s, err := secret.Get(ctx, mgmt, key, purpose)
		if err != nil {
			return fmt.Errorf("cluster %s: the kubeadm control plane's secret %s is not there yet: %w", key, secret.Name(w.name, purpose), err)
		}
		if purpose == secret.ServiceAccount {
			// sa: tls.crt is the public key, tls.key the private one (not a certificate).
			pairs[purpose] = &keyPair{certPEM: s.Data[secret.TLSCrtDataName], keyPEM: s.Data[secret.TLSKeyDataName]}
			continue
		}
		p, err := parseKeyPair(s.Data[secret.TLSCrtDataName], s.Data[secret.TLSKeyDataName])
		if err != nil {
			return fmt.Errorf("cluster %s: secret %s: %w", key, s.Name, err)
		}
		pairs[purpose] = p
	}
	w.ca, w.etcdCA, w.proxyCA = pairs[secret.ClusterCA], pairs[secret.EtcdCA], pairs[secret.FrontProxyCA]
	cfg, err := w.readKubeadmConfig(ctx, mgmt)
	if err != nil {
		return err
	}
	w.version, w.images = cfg.version, cfg.imageRepository

	if w.dir, err = os.MkdirTemp("", "workload-"); err != nil {
		return err
	}
	if err := w.start(ctx, mgmt, cfg, pairs[secret.ServiceAccount]); err != nil {
		return errors.Join(fmt.Errorf("cluster %s: %w", key, err), w.stopLocked())
	}
	w.started = true
	fmt.Printf("workload %s: etcd and kube-apiserver %s up on 127.0.0.1:%d in %.1f s\n", key, w.version, w.port, time.Since(began).Seconds())
	return nil
}

func (w *workloadCluster) start(ctx context.Context, mgmt client.Client, cfg *kubeadmSettings, sa *keyPair) error {
	w.pki = filepath.Join(w.dir, "pki")
	if err := os.Mkdir(w.pki, 0o700); err != nil {
		return err
	}
	write := func(name string, data []byte) (string, error) {
		p := filepath.Join(w.pki, name)
		return p, os.WriteFile(p, data, 0o600)
	}
	caPath, err := write("ca.crt", w.ca.certPEM)
	if err != nil {
		return err
	}
	if w.etcdCAPath, err = write("etcd-ca.crt", w.etcdCA.certPEM); err != nil {
		return err
	}
	proxyCAPath, err := write("front-proxy-ca.crt", w.proxyCA.certPEM)
	if err != nil {
		return err
	}
	saPub, err := write("sa.pub", sa.certPEM)
	if err != nil {
		return err
	}
	saKey, err := write("sa.key", sa.keyPEM)
	if err != nil {
		return err
	}

	// The certificates kubeadm's certs phase issues from the cluster's CAs (same names and identities).
	kubernetesSvcIP, err := firstIP(cfg.serviceSubnet)
	if err != nil {
		return err
	}
	serving := certs.Config{
		CommonName: "kube-apiserver",
		AltNames: certs.AltNames{
			DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + cfg.dnsDomain},
			IPs:      []net.IP{loopbackIP, kubernetesSvcIP},
		},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	servingCrt, servingKey, err := w.ca.issue(w.pki, "apiserver", serving)
	if err != nil {
		return err
	}
	clientUsage := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	kubeletCrt, kubeletKey, err := w.ca.issue(w.pki, "apiserver-kubelet-client", certs.Config{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"kubeadm:cluster-admins"}, Usages: clientUsage})
	if err != nil {
		return err
	}
	etcdCrt, etcdKey, err := w.etcdCA.issue(w.pki, "apiserver-etcd-client", certs.Config{CommonName: "kube-apiserver-etcd-client", Usages: clientUsage})
	if err != nil {
		return err
	}
	if w.etcdClientCert, w.etcdClientKey, err = w.etcdCA.issue(w.pki, "healthcheck-client", certs.Config{CommonName: "kube-etcd-healthcheck-client", Usages: clientUsage}); err != nil {
		return err
	}
	proxyCrt, proxyKey, err := w.proxyCA.issue(w.pki, "front-proxy-client", certs.Config{CommonName: "front-proxy-client", Usages: clientUsage})
	if err != nil {
		return err
	}

	storageClient, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	storagePeer, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	w.ports = append(w.ports, w.port, storageClient, storagePeer)
	storageName := w.name + "-apiserver-storage"
	if w.storage, err = w.startEtcd(storageName, storageClient, storagePeer, storageName+"="+loopbackURL("http", storagePeer), "new"); err != nil {
		return err
	}

	egressSocket := filepath.Join(w.dir, "egress.sock")
	if w.egress, err = startEgressProxy(egressSocket); err != nil {
		return err
	}
	egressConfig := fmt.Sprintf(`apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: %s
`, egressSocket)
	egressPath, err := write("egress-selector.yaml", []byte(egressConfig))
	if err != nil {
		return err
	}

	w.apiserver, err = startProc("kube-apiserver", filepath.Join(w.assets, "kube-apiserver"), filepath.Join(w.dir, "kube-apiserver.log"),
		"--advertise-address="+loopback,
		"--bind-address="+loopback,
		"--secure-port="+strconv.Itoa(w.port),
		"--cert-dir="+w.pki,
		"--tls-cert-file="+servingCrt,
		"--tls-private-key-file="+servingKey,
		"--client-ca-file="+caPath,
		"--etcd-servers="+w.storage.clientURL(),
		"--etcd-cafile="+w.etcdCAPath,
		"--etcd-certfile="+etcdCrt,
		"--etcd-keyfile="+etcdKey,
		"--service-account-key-file="+saPub,
		"--service-account-signing-key-file="+saKey,
		"--service-account-issuer=https://kubernetes.default.svc."+cfg.dnsDomain,
		"--service-cluster-ip-range="+cfg.serviceSubnet,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--kubelet-client-certificate="+kubeletCrt,
		"--kubelet-client-key="+kubeletKey,
		"--kubelet-certificate-authority="+caPath,
		"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
		"--egress-selector-config-file="+egressPath,
		"--requestheader-client-ca-file="+proxyCAPath,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-username-headers=X-Remote-User",
		"--proxy-client-cert-file="+proxyCrt,
		"--proxy-client-key-file="+proxyKey,
		// No kube-controller-manager runs: nothing would allocate from the service range for the endpoints.
		"--endpoint-reconciler-type=none",
		"--v=0",
	)
	if err != nil {
		return err
	}

	// Admin access as KCP builds it (util/kubeconfig: kubernetes-admin, system:masters, signed by the cluster CA).
	server := "https://" + net.JoinHostPort(loopback, strconv.Itoa(w.port))
	admin, err := kubeconfig.New(w.name, server, w.ca.cert, w.ca.key)
	if err != nil {
		return err
	}
	if w.cfg, err = clientcmd.NewDefaultClientConfig(*admin, &clientcmd.ConfigOverrides{}).ClientConfig(); err != nil {
		return err
	}
	if err := w.waitReady(ctx); err != nil {
		return err
	}
	// KCP's own kubeconfig, when it exists already, must work against this server: prove it and use it.
	if data, err := kubeconfig.FromSecret(ctx, mgmt, client.ObjectKey{Namespace: w.namespace, Name: w.name}); err == nil {
		kcpCfg, err := clientcmd.RESTConfigFromKubeConfig(data)
		if err != nil {
			return fmt.Errorf("secret %s: %w", secret.Name(w.name, secret.Kubeconfig), err)
		}
		cs, err := kubernetes.NewForConfig(kcpCfg)
		if err != nil {
			return err
		}
		if _, err := cs.CoreV1().Namespaces().Get(ctx, "kube-system", metaGet); err != nil {
			return fmt.Errorf("the kubeconfig in %s does not authenticate against the workload API server: %w", secret.Name(w.name, secret.Kubeconfig), err)
		}
		w.cfg = kcpCfg
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	return w.createKubeadmObjects(ctx, cfg)
}

func (w *workloadCluster) waitReady(ctx context.Context) error {
	cs, err := w.clientset()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(120 * time.Second)
	for {
		var status int
		res := cs.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
		if res.Error() == nil && status == 200 {
			return nil
		}
		if w.apiserver.exited() {
			return fmt.Errorf("kube-apiserver ended: %v\n%s", w.apiserver.err, w.apiserver.tail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver not ready after 120 s: %v\n%s", res.Error(), w.apiserver.tail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// clientset is for this file's own calls: the warnings the server gives (e.g. mirror pod names with dots, as
// kubelets on AWS create them) are expected there.
func (w *workloadCluster) clientset() (*kubernetes.Clientset, error) {
	cfg := rest.CopyConfig(w.cfg)
	cfg.WarningHandler = rest.NoWarnings{}
	return kubernetes.NewForConfig(cfg)
}

// Client is an admin client of the workload API server (KCP's kubeconfig when it existed at Start).
func (w *workloadCluster) Client() (client.Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		return nil, fmt.Errorf("workload %s/%s is not started", w.namespace, w.name)
	}
	return client.New(w.cfg, client.Options{Scheme: clientgoscheme.Scheme})
}

// RSS reports the resident memory of the workload's processes, in KiB, by process.
func (w *workloadCluster) RSS() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	if w.storage != nil {
		out["etcd (apiserver storage)"] = w.storage.p.rssKiB()
	}
	out["kube-apiserver"] = w.apiserver.rssKiB()
	for n, m := range w.members {
		out["etcd member "+n] = m.p.rssKiB()
	}
	return out
}

// Stop ends every process and server of the workload, removes its files and checks nothing is left listening.
func (w *workloadCluster) Stop() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopLocked()
}

func (w *workloadCluster) stopLocked() error {
	var errs []error
	var procs []*proc
	// The API server first: it holds connections to the kubelets, the egress proxy and etcd.
	if w.apiserver != nil {
		procs = append(procs, w.apiserver)
		errs = append(errs, w.apiserver.stop())
	}
	for name, k := range w.kubelets {
		errs = append(errs, k.stop())
		delete(w.kubelets, name)
	}
	for name, m := range w.members {
		procs = append(procs, m.p)
		errs = append(errs, m.p.stop())
		delete(w.members, name)
		w.etcdByNode.Delete(name)
	}
	if w.storage != nil {
		procs = append(procs, w.storage.p)
		errs = append(errs, w.storage.p.stop())
	}
	if w.egress != nil {
		errs = append(errs, w.egress.stop())
	}
	for _, p := range procs {
		if !p.exited() {
			errs = append(errs, fmt.Errorf("%s (pid %d) still running", p.name, p.cmd.Process.Pid))
		}
	}
	for _, port := range w.ports {
		c, err := net.DialTimeout("tcp", hostPort(loopback, port), time.Second)
		if err != nil {
			continue
		}
		c.Close()
		// Something listens on the port. The suite left it behind only when this process or a child of it holds the
		// listener: CI runs other jobs beside the suite, and any of them may have taken the freed port since.
		owners, err := suiteListenersOn(port)
		if err != nil {
			errs = append(errs, err)
		} else if len(owners) > 0 {
			errs = append(errs, fmt.Errorf("port %d still accepts connections after Stop (listener: %s)", port,
				strings.Join(owners, ", ")))
		}
	}
	if w.dir != "" {
		errs = append(errs, os.RemoveAll(w.dir))
	}
	w.started, w.apiserver, w.storage, w.egress, w.dir = false, nil, nil, nil, ""
	return errors.Join(errs...)
}

func firstIP(cidr string) (net.IP, error) {
	first := strings.Split(cidr, ",")[0]
	_, n, err := net.ParseCIDR(strings.TrimSpace(first))
	if err != nil {
		return nil, fmt.Errorf("service subnet %q: %w", cidr, err)
	}
	ip := n.IP.To4()
	if ip == nil {
		ip = n.IP
	}
	out := append(net.IP{}, ip...)
	out[len(out)-1]++
	return out, nil
}
