package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"sigs.k8s.io/cluster-api/util/certs"
)

// etcdMember is one etcd process serving clients over TLS with a server certificate from the cluster's etcd CA
// (`<name>-etcd`) and requiring client certificates from that CA, as kubeadm's static pod does. Peers talk plain
// HTTP: they only ever talk to each other on 127.0.0.1.
type etcdMember struct {
	name       string
	clientPort int
	peerPort   int
	dataDir    string
	p          *proc
}

func (m *etcdMember) clientURL() string { return loopbackURL("https", m.clientPort) }
func (m *etcdMember) peerURL() string   { return loopbackURL("http", m.peerPort) }

// startEtcd starts a member named name; initialCluster is etcd's --initial-cluster (with this member in it) and
// state "new" or "existing".
func (w *workloadCluster) startEtcd(name string, clientPort, peerPort int, initialCluster, state string) (*etcdMember, error) {
	m := &etcdMember{name: name, clientPort: clientPort, peerPort: peerPort, dataDir: filepath.Join(w.dir, "etcd-"+name)}
	// kubeadm's etcd/server certificate: CN the node name, SANs localhost and the loopback address.
	crt, key, err := w.etcdCA.issue(w.pki, "etcd-server-"+name, certs.Config{
		CommonName: name,
		AltNames:   certs.AltNames{DNSNames: []string{"localhost", name}, IPs: []net.IP{loopbackIP}},
		Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}
	m.p, err = startProc("etcd "+name, filepath.Join(w.assets, "etcd"), filepath.Join(w.dir, "etcd-"+name+".log"),
		"--name="+name,
		"--data-dir="+m.dataDir,
		"--listen-client-urls="+m.clientURL(),
		"--advertise-client-urls="+m.clientURL(),
		"--listen-peer-urls="+m.peerURL(),
		"--initial-advertise-peer-urls="+m.peerURL(),
		"--initial-cluster="+initialCluster,
		"--initial-cluster-state="+state,
		"--initial-cluster-token="+w.namespace+"-"+w.name,
		"--cert-file="+crt,
		"--key-file="+key,
		"--trusted-ca-file="+w.etcdCAPath,
		"--client-cert-auth=true",
		// Metrics on the client port only (etcd's default when no --listen-metrics-urls): no extra port.
		"--log-level=warn",
		// A test cluster lives for minutes: durability across power loss is not what is tested.
		"--unsafe-no-fsync=true",
		"--snapshot-count=10000",
		"--quota-backend-bytes="+fmt.Sprint(256<<20),
	)
	if err != nil {
		return nil, err
	}
	if err := waitPort(m.p, clientPort, 60*time.Second); err != nil {
		return nil, errors.Join(err, m.p.stop())
	}
	return m, nil
}

// etcdClient connects to the given members with a client certificate from the etcd CA (CAPI's KCP does the same
// with a certificate it issues itself).
func (w *workloadCluster) etcdClient(ctx context.Context, members ...*etcdMember) (*clientv3.Client, error) {
	pair, err := tls.LoadX509KeyPair(w.etcdClientCert, w.etcdClientKey)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(w.etcdCA.cert)
	var eps []string
	for _, m := range members {
		eps = append(eps, m.clientURL())
	}
	return clientv3.New(clientv3.Config{
		Endpoints:   eps,
		TLS:         &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		DialTimeout: 5 * time.Second,
		Context:     ctx,
		Logger:      zap.NewNop(),
	})
}

// runningMembers are the node members whose process is alive, sorted by name.
func (w *workloadCluster) runningMembers(except string) []*etcdMember {
	var out []*etcdMember
	for name, m := range w.members {
		if name != except && !m.p.exited() {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// addEtcdMember is what kubeadm does for the etcd of a control-plane node: the first node's member starts a new
// cluster (kubeadm init), later ones are added with MemberAdd and start with --initial-cluster-state=existing
// (kubeadm join). It returns once the member reports its name in the member list, as KCP's checks need.
func (w *workloadCluster) addEtcdMember(ctx context.Context, name string) error {
	if m, ok := w.members[name]; ok && !m.p.exited() {
		return nil
	}
	clientPort, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	peerPort, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	others := w.runningMembers(name)
	peerURL := loopbackURL("http", peerPort)
	if len(others) == 0 {
		m, err := w.startEtcd(name, clientPort, peerPort, name+"="+peerURL, "new")
		if err != nil {
			return err
		}
		w.members[name] = m
		w.etcdByNode.Store(name, m)
		return w.waitMember(ctx, m)
	}
	cli, err := w.etcdClient(ctx, others...)
	if err != nil {
		return err
	}
	defer cli.Close()
	// kubeadm (EtcdLearnerMode, on since 1.32) adds a joining member as a learner, which does not count for quorum,
	// and promotes it once it has caught up with the leader.
	var added *clientv3.MemberAddResponse
	if err := retryEtcd(ctx, func(actx context.Context) (err error) {
		added, err = cli.MemberAddAsLearner(actx, []string{peerURL})
		return err
	}, rpctypes.ErrUnhealthy); err != nil {
		return fmt.Errorf("etcd member add %s: %w", name, err)
	}
	var initial []string
	for _, mb := range added.Members {
		n := mb.Name
		if mb.ID == added.Member.ID {
			n = name
		}
		for _, u := range mb.PeerURLs {
			initial = append(initial, n+"="+u)
		}
	}
	m, err := w.startEtcd(name, clientPort, peerPort, strings.Join(initial, ","), "existing")
	if err != nil {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		_, rerr := cli.MemberRemove(rctx, added.Member.ID)
		return errors.Join(err, rerr)
	}
	w.members[name] = m
	w.etcdByNode.Store(name, m)
	if err := retryEtcd(ctx, func(pctx context.Context) error {
		_, err := cli.MemberPromote(pctx, added.Member.ID)
		return err
	}, rpctypes.ErrUnhealthy, rpctypes.ErrMemberLearnerNotReady); err != nil {
		return fmt.Errorf("etcd member promote %s: %w\n%s", name, err, m.p.tail())
	}
	return w.waitMember(ctx, m)
}

// retryEtcd runs call until etcd stops answering one of the transient errors: "unhealthy cluster" (etcd refuses
// membership changes while a member joined less than 5 s ago, its strict reconfiguration check), a learner not yet
// in sync. kubeadm retries them, so does this.
func retryEtcd(ctx context.Context, call func(context.Context) error, transient ...error) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := call(cctx)
		cancel()
		retry := false
		for _, t := range transient {
			retry = retry || errors.Is(err, t)
		}
		if err == nil || !retry || time.Now().After(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitMember waits until the member answers Status itself and the member list names it.
func (w *workloadCluster) waitMember(ctx context.Context, m *etcdMember) error {
	cli, err := w.etcdClient(ctx, m)
	if err != nil {
		return err
	}
	defer cli.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, serr := cli.Status(sctx, m.clientURL())
		var list *clientv3.MemberListResponse
		if serr == nil {
			list, serr = cli.MemberList(sctx)
		}
		cancel()
		if serr == nil {
			for _, mb := range list.Members {
				if mb.Name == m.name && !mb.IsLearner {
					return nil
				}
			}
			serr = fmt.Errorf("member list does not name %s yet", m.name)
		}
		if m.p.exited() || time.Now().After(deadline) {
			return fmt.Errorf("etcd member %s did not join: %v\n%s", m.name, serr, m.p.tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// removeEtcdMember is what KCP (or `kubeadm reset`) does when a control-plane node goes: the member leaves the
// etcd cluster, then its process ends. KCP may have removed the member already (scale down), then the process has
// ended by itself.
func (w *workloadCluster) removeEtcdMember(ctx context.Context, name string) error {
	m, ok := w.members[name]
	if !ok {
		return nil
	}
	var errs []error
	if others := w.runningMembers(name); len(others) > 0 && !m.p.exited() {
		cli, err := w.etcdClient(ctx, others...)
		if err != nil {
			return err
		}
		err = retryEtcd(ctx, func(rctx context.Context) error {
			list, err := cli.MemberList(rctx)
			if err != nil {
				return err
			}
			for _, mb := range list.Members {
				if mb.Name == name {
					_, err = cli.MemberRemove(rctx, mb.ID)
				}
			}
			return err
		}, rpctypes.ErrUnhealthy)
		cli.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("etcd member remove %s: %w", name, err))
		}
	}
	errs = append(errs, m.p.stop(), os.RemoveAll(m.dataDir))
	delete(w.members, name)
	w.etcdByNode.Delete(name)
	return errors.Join(errs...)
}

// EtcdMembers lists the member names of the node etcd cluster (sorted), asked of a running member.
func (w *workloadCluster) EtcdMembers(ctx context.Context) ([]string, error) {
	w.mu.Lock()
	running := w.runningMembers("")
	w.mu.Unlock()
	if len(running) == 0 {
		return nil, nil
	}
	cli, err := w.etcdClient(ctx, running...)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	list, err := cli.MemberList(lctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, mb := range list.Members {
		out = append(out, mb.Name)
	}
	sort.Strings(out)
	return out, nil
}
