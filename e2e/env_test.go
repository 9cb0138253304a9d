package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"

	"github.com/capi-gitops/admission/upstream"
)

// management is a kube-apiserver + etcd (envtest, the binaries in in.Assets) with the pinned CRDs installed and the
// upstream CAPI/CAPA webhooks served from this process, as a management cluster running the providers would.
type management struct {
	env    *envtest.Environment
	cfg    *rest.Config
	client client.Client
	// ctx runs every manager of this environment (the webhook server, and in the box the controllers); cancel
	// ends them all, each reporting on done when it has stopped.
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan error
	managers int
	// children are the processes envtest started (etcd, kube-apiserver), found as children of this process.
	children []int
	// ports this suite listens on (API server, etcd client and peer, webhook server), checked free after teardown.
	ports []string
}

const loopback = "127.0.0.1"

// freeLoopbackPort asks the kernel for a free port on 127.0.0.1.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// webhookConfigurations reads the upstream modules' webhook manifests (config/webhook/manifests.yaml) and names
// each configuration after its module, as CAPI's own internal/test/envtest does (kustomize prefixes them in a real
// install; the generated files all use the same names).
func webhookConfigurations(files []string) ([]*admissionregistrationv1.MutatingWebhookConfiguration, []*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	var mutating []*admissionregistrationv1.MutatingWebhookConfiguration
	var validating []*admissionregistrationv1.ValidatingWebhookConfiguration
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		for _, doc := range strings.Split(string(data), "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", f, err)
			}
			u.SetName(fmt.Sprintf("%s-%d", u.GetName(), i))
			raw, err := yaml.Marshal(u.Object)
			if err != nil {
				return nil, nil, err
			}
			switch u.GetKind() {
			case "MutatingWebhookConfiguration":
				m := &admissionregistrationv1.MutatingWebhookConfiguration{}
				if err := yaml.UnmarshalStrict(raw, m); err != nil {
					return nil, nil, fmt.Errorf("%s: %w", f, err)
				}
				mutating = append(mutating, m)
			case "ValidatingWebhookConfiguration":
				v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
				if err := yaml.UnmarshalStrict(raw, v); err != nil {
					return nil, nil, fmt.Errorf("%s: %w", f, err)
				}
				validating = append(validating, v)
			}
		}
	}
	return mutating, validating, nil
}

// startManagement starts etcd and kube-apiserver on 127.0.0.1 (random free ports), installs the CRDs and the
// upstream webhook configurations, and serves the upstream webhooks from this process.
func startManagement(in *input, scheme *runtime.Scheme) (*management, error) {
	if err := upstream.SetFeatureGates(in.FeatureGates); err != nil {
		return nil, fmt.Errorf("feature gates %q: %w", in.FeatureGates, err)
	}
	manifests := upstream.WebhookManifests()
	if len(manifests) != 4 {
		return nil, fmt.Errorf("expected the webhook manifests of CAPI core, kubeadm bootstrap, kubeadm control plane and CAPA in the module cache, found %v", manifests)
	}
	mutating, validating, err := webhookConfigurations(manifests)
	if err != nil {
		return nil, err
	}
	if len(mutating) != 4 || len(validating) != 4 {
		return nil, fmt.Errorf("expected a mutating and a validating webhook configuration per module, found %d and %d", len(mutating), len(validating))
	}
	etcdPort, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	apiPort, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: in.Assets,
		CRDDirectoryPaths:     in.CRDDirs,
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
		CRDInstallOptions:     envtest.CRDInstallOptions{Scheme: scheme},
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			LocalServingHost:   loopback,
			MutatingWebhooks:   mutating,
			ValidatingWebhooks: validating,
			MaxTime:            60 * time.Second,
			PollInterval:       200 * time.Millisecond,
		},
		ControlPlaneStartTimeout: 120 * time.Second,
		ControlPlaneStopTimeout:  60 * time.Second,
	}
	env.ControlPlane.Etcd = &envtest.Etcd{}
	env.ControlPlane.Etcd.URL = mustURL("http://" + net.JoinHostPort(loopback, strconv.Itoa(etcdPort)))
	env.ControlPlane.APIServer = &envtest.APIServer{}
	env.ControlPlane.APIServer.SecureServing.ListenAddr.Address = loopback
	env.ControlPlane.APIServer.SecureServing.ListenAddr.Port = strconv.Itoa(apiPort)
	// No controllers run: nothing would reconcile the service IP range or the kubernetes Service endpoints.
	env.ControlPlane.APIServer.Configure().Set("endpoint-reconciler-type", "none")

	m := &management{env: env, done: make(chan error, 8)}
	// Another environment (the box's) may already run in this process: its processes are not this one's.
	before := childProcesses()
	cfg, err := env.Start()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("envtest: %w", err), m.stopEnv())
	}
	m.cfg = cfg
	for _, pid := range childProcesses() {
		if !slices.Contains(before, pid) {
			m.children = append(m.children, pid)
		}
	}

	server := webhook.NewServer(webhook.Options{
		Host:    env.WebhookInstallOptions.LocalServingHost,
		Port:    env.WebhookInstallOptions.LocalServingPort,
		CertDir: env.WebhookInstallOptions.LocalServingCertDir,
	})
	mgr, err := ctrl.NewManager(cfg, manager.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer:          server,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("manager: %w", err), m.stopEnv())
	}
	for _, s := range upstream.Webhooks(mgr.GetClient()) {
		if err := s.SetupWebhookWithManager(mgr); err != nil {
			return nil, errors.Join(fmt.Errorf("%T: %w", s, err), m.stopEnv())
		}
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.run(mgr)
	webhookAddr := net.JoinHostPort(env.WebhookInstallOptions.LocalServingHost, strconv.Itoa(env.WebhookInstallOptions.LocalServingPort))
	if err := waitTLS(webhookAddr, 60*time.Second); err != nil {
		return nil, errors.Join(err, m.stop())
	}
	m.client, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, errors.Join(err, m.stop())
	}
	m.ports = []string{
		net.JoinHostPort(loopback, strconv.Itoa(apiPort)),
		net.JoinHostPort(loopback, strconv.Itoa(etcdPort)),
		webhookAddr,
	}
	if err := m.checkLoopbackOnly(); err != nil {
		return nil, errors.Join(err, m.stop())
	}
	return m, nil
}

// run starts a manager on the environment's context; stop waits for it.
func (m *management) run(mgr manager.Manager) {
	m.managers++
	go func() { m.done <- mgr.Start(m.ctx) }()
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func waitTLS(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a readiness probe of our own server
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("webhook server on %s did not come up: %w", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// childProcesses lists the processes whose parent is this process (envtest's etcd and kube-apiserver).
func childProcesses() []int {
	self := os.Getpid()
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndex(s, ")")+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(self) {
			out = append(out, pid)
		}
	}
	return out
}

// listeningSockets returns the local addresses of the TCP sockets in LISTEN state that process pid holds.
func listeningSockets(pid int) ([]string, error) {
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st ... inode (field 9)
			if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] {
				continue
			}
			out = append(out, decodeProcAddr(fields[1]))
		}
		f.Close()
	}
	return out, nil
}

// suiteListenersOn returns the processes of the suite — this process and its children — that listen on the TCP port.
func suiteListenersOn(port int) ([]string, error) {
	var out []string
	for _, pid := range append([]int{os.Getpid()}, childProcesses()...) {
		socks, err := listeningSockets(pid)
		if err != nil {
			if pid == os.Getpid() {
				return nil, err
			}
			continue // a child that exited meanwhile
		}
		for _, a := range socks {
			if strings.HasSuffix(a, ":"+strconv.Itoa(port)) {
				out = append(out, fmt.Sprintf("%s (pid %d)", processName(pid), pid))
				break
			}
		}
	}
	return out, nil
}

// decodeProcAddr turns /proc/net/tcp's "0100007F:1F90" (little-endian IPv4, hex port) into "127.0.0.1:8080";
// IPv6 addresses are returned as their hex form, which is never loopback IPv4.
func decodeProcAddr(s string) string {
	hostHex, portHex, _ := strings.Cut(s, ":")
	port, _ := strconv.ParseUint(portHex, 16, 32)
	if len(hostHex) != 8 {
		return fmt.Sprintf("[%s]:%d", hostHex, port)
	}
	b, _ := strconv.ParseUint(hostHex, 16, 32)
	return fmt.Sprintf("%d.%d.%d.%d:%d", b&0xff, (b>>8)&0xff, (b>>16)&0xff, b>>24, port)
}

// checkLoopbackOnly: every socket etcd and kube-apiserver listen on is bound to 127.0.0.1.
func (m *management) checkLoopbackOnly() error {
	if len(m.children) < 2 {
		return fmt.Errorf("expected etcd and kube-apiserver as child processes, found %d", len(m.children))
	}
	for _, pid := range m.children {
		socks, err := listeningSockets(pid)
		if err != nil {
			return err
		}
		for _, a := range socks {
			if !strings.HasPrefix(a, loopback+":") {
				return fmt.Errorf("process %d (%s) listens on %s, not on %s", pid, processName(pid), a, loopback)
			}
		}
	}
	return nil
}

func processName(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

func (m *management) stopEnv() error {
	return m.env.Stop()
}

// stop ends the webhook server and the control plane, then checks that nothing is left: no child process alive,
// no port of the suite still accepting connections.
func (m *management) stop() error {
	var errs []error
	if m.cancel != nil {
		m.cancel()
		timeout := time.After(30 * time.Second)
	wait:
		for i := 0; i < m.managers; i++ {
			select {
			case err := <-m.done:
				if err != nil {
					errs = append(errs, fmt.Errorf("manager: %w", err))
				}
			case <-timeout:
				errs = append(errs, fmt.Errorf("%d of %d managers (webhook server, controllers) did not stop within 30 s", m.managers-i, m.managers))
				break wait
			}
		}
	}
	if err := m.stopEnv(); err != nil {
		errs = append(errs, fmt.Errorf("envtest stop: %w", err))
	}
	for _, pid := range m.children {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			state := ""
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
				s := string(b)
				if f := strings.Fields(s[strings.LastIndex(s, ")")+1:]); len(f) > 0 {
					state = f[0]
				}
			}
			if state != "Z" {
				errs = append(errs, fmt.Errorf("teardown left process %d (%s) running", pid, processName(pid)))
			}
		}
	}
	for _, addr := range m.ports {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			errs = append(errs, fmt.Errorf("teardown left %s accepting connections", addr))
		}
	}
	return errors.Join(errs...)
}
