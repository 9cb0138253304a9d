package e2e

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/cluster-api/util/certs"
)

// proc is one binary of the workload (etcd, kube-apiserver) run as a child of the test process, its output kept in a
// log file so a failure can show it.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startProc(name, bin, logPath string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = f
	cmd.Stderr = f
	// Its own process group: a Ctrl-C of the test reaches the test, which stops it; nothing else signals it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to end (SIGTERM), then kills it after a grace period; it returns once the process is reaped.
func (p *proc) stop() error {
	if p == nil || p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(15 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) did not end after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// tail is the end of the process's log, for error messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}

// rssKiB is the resident set size of the process (VmRSS), 0 once it has ended.
func (p *proc) rssKiB() int {
	if p == nil || p.exited() {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}

// keyPair is a CA read from one of the cluster's secrets (tls.crt/tls.key as CAPI's util/secret stores them).
type keyPair struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

func parseKeyPair(certPEM, keyPEM []byte) (*keyPair, error) {
	c, err := certs.DecodeCertPEM(certPEM)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("no certificate in tls.crt")
	}
	k, err := certs.DecodePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, errors.New("no key in tls.key")
	}
	return &keyPair{cert: c, key: k, certPEM: certPEM, keyPEM: keyPEM}, nil
}

// issue signs a leaf certificate with CAPI's own helper (util/certs, the one KCP and the kubeconfig code use) and
// writes it and its key as <dir>/<file>.crt and .key.
func (ca *keyPair) issue(dir, file string, cfg certs.Config) (certPath, keyPath string, err error) {
	key, err := certs.NewPrivateKey()
	if err != nil {
		return "", "", err
	}
	c, err := cfg.NewSignedCert(key, ca.cert, ca.key)
	if err != nil {
		return "", "", err
	}
	certPath, keyPath = filepath.Join(dir, file+".crt"), filepath.Join(dir, file+".key")
	if err := os.WriteFile(certPath, certs.EncodeCertPEM(c), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyPath, certs.EncodePrivateKeyPEM(key), 0o600); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

var loopbackIP = net.ParseIP(loopback)

// loopbackURL is scheme://127.0.0.1:port.
func loopbackURL(scheme string, port int) string {
	return scheme + "://" + net.JoinHostPort(loopback, strconv.Itoa(port))
}

// waitPort waits until something accepts connections on 127.0.0.1:port, or the process ends.
func waitPort(p *proc, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	addr := net.JoinHostPort(loopback, strconv.Itoa(port))
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			return c.Close()
		}
		if p.exited() {
			return fmt.Errorf("%s ended before listening on %s: %v\n%s", p.name, addr, p.err, p.tail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not listen on %s after %s\n%s", p.name, addr, timeout, p.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
