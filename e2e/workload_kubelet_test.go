package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubelet/pkg/cri/streaming/portforward"
	"sigs.k8s.io/cluster-api/util/certs"
)

// kubeletStandIn is the part of a node's kubelet the control plane talks to: its HTTPS endpoint (the Node's
// status.daemonEndpoints.kubeletEndpoint) serving pods/portforward for the node's static pods, with the port-forward
// protocol of the kubelet's own streaming library (k8s.io/kubelet/pkg/cri/streaming/portforward). It serves a
// certificate from the cluster CA for the Node's InternalIP and accepts only clients with a certificate from that CA
// (kube-apiserver's --kubelet-client-certificate).
type kubeletStandIn struct {
	node string
	ip   string
	port int
	ln   net.Listener
	srv  *http.Server
	// targets maps a static pod name (kube-system) to where its ports are served on 127.0.0.1: the node's etcd
	// member for etcd-<node> (port 2379), the workload's kube-apiserver for kube-apiserver-<node> (any port: KCP
	// reads the serving certificate through it).
	targets func(pod string, port int32) (string, error)
}

func startKubelet(node, ip string, ca *keyPair, pki string, targets func(string, int32) (string, error)) (*kubeletStandIn, error) {
	alt := certs.AltNames{DNSNames: []string{node}}
	if parsed := net.ParseIP(ip); parsed != nil {
		alt.IPs = []net.IP{parsed}
	} else {
		alt.DNSNames = append(alt.DNSNames, ip)
	}
	crt, key, err := ca.issue(pki, "kubelet-"+node, certs.Config{
		CommonName:   "system:node:" + node,
		Organization: []string{"system:nodes"},
		AltNames:     alt,
		Usages:       []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, err
	}
	pair, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	ln, err := tls.Listen("tcp", net.JoinHostPort(loopback, "0"), &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		return nil, err
	}
	k := &kubeletStandIn{node: node, ip: ip, port: ln.Addr().(*net.TCPAddr).Port, ln: ln, targets: targets}
	mux := http.NewServeMux()
	mux.HandleFunc("/portForward/", k.portForward)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	k.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = k.srv.Serve(ln) }()
	return k, nil
}

// portForward serves /portForward/<namespace>/<pod>[/<uid>], the path kube-apiserver's pods/portforward proxies to.
func (k *kubeletStandIn) portForward(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/portForward/"), "/"), "/")
	if len(parts) < 2 || parts[0] != "kube-system" {
		http.Error(w, "no such pod on node "+k.node, http.StatusNotFound)
		return
	}
	pod := parts[1]
	if _, err := k.targets(pod, 0); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	var uid types.UID
	if len(parts) > 2 {
		uid = types.UID(parts[2])
	}
	// The websocket flavour carries the ports in the query; the SPDY one (what kube-apiserver speaks to kubelets)
	// in each stream's headers.
	opts, _ := portforward.NewV4Options(r)
	portforward.ServePortForward(w, r, forwarder{targets: k.targets}, pod, uid, opts, 4*time.Hour, 30*time.Second, portforward.SupportedProtocols)
}

func (k *kubeletStandIn) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := k.srv.Shutdown(ctx); err != nil {
		return errors.Join(err, k.srv.Close())
	}
	return nil
}

// forwarder copies a port-forward stream to and from the process serving the static pod's port on 127.0.0.1.
type forwarder struct {
	targets func(string, int32) (string, error)
}

func (f forwarder) PortForward(ctx context.Context, pod string, _ types.UID, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	addr, err := f.targets(pod, port)
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("pod %s port %d: %w", pod, port, err)
	}
	defer conn.Close()
	pipe(conn, stream)
	return nil
}

// pipe copies both ways until one side ends, then closes the other.
func pipe(a io.ReadWriteCloser, b io.ReadWriteCloser) {
	var once sync.Once
	done := make(chan struct{})
	closeBoth := func() { a.Close(); b.Close(); close(done) }
	go func() { _, _ = io.Copy(a, b); once.Do(closeBoth) }()
	go func() { _, _ = io.Copy(b, a); once.Do(closeBoth) }()
	<-done
}

// egressProxy is kube-apiserver's "cluster" egress (--egress-selector-config-file, HTTP CONNECT): the control plane
// dials kubelets at the Node's InternalIP and kubelet port, as on AWS; this proxy, the only thing that knows these
// addresses are not routable here, connects each such address to the node's kubelet stand-in on 127.0.0.1.
type egressProxy struct {
	ln  net.Listener
	srv *http.Server
	mu  sync.Mutex
	// routes: "<InternalIP>:<kubelet port>" → "127.0.0.1:<port>".
	routes map[string]string
	conns  map[net.Conn]bool
}

// It listens on a unix socket: kube-apiserver's TCP egress transport requires TLS to the proxy, a socket file
// needs neither a port nor certificates.
func startEgressProxy(socket string) (*egressProxy, error) {
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return nil, err
	}
	e := &egressProxy{ln: ln, routes: map[string]string{}, conns: map[net.Conn]bool{}}
	e.srv = &http.Server{Handler: http.HandlerFunc(e.connect), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

func (e *egressProxy) route(from, to string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if to == "" {
		delete(e.routes, from)
	} else {
		e.routes[from] = to
	}
}

func (e *egressProxy) connect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "only CONNECT", http.StatusMethodNotAllowed)
		return
	}
	e.mu.Lock()
	to, ok := e.routes[r.URL.Host]
	e.mu.Unlock()
	if !ok {
		http.Error(w, "no node listens on "+r.URL.Host, http.StatusBadGateway)
		return
	}
	upstream, err := net.DialTimeout("tcp", to, 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	e.track(conn, true)
	defer e.track(conn, false)
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		conn.Close()
		upstream.Close()
		return
	}
	pipe(upstream, bufferedConn{Conn: conn, r: buf.Reader})
}

func (e *egressProxy) track(c net.Conn, add bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if add {
		e.conns[c] = true
	} else {
		delete(e.conns, c)
	}
}

func (e *egressProxy) stop() error {
	err := e.srv.Close()
	e.mu.Lock()
	for c := range e.conns {
		c.Close()
	}
	e.mu.Unlock()
	return err
}

// bufferedConn reads what the HTTP server had already buffered before the connection was hijacked.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
