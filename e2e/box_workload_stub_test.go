//go:build boxstub

package e2e

// A stand-in for engineer b-work's workloadCluster (workload_test.go), only so the box compiles before it lands.

import (
	"context"
	"errors"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

type workloadNode struct {
	Name, ProviderID, Zone, InstanceType, Version, InternalIP string
	ControlPlane                                              bool
}

type workloadCluster struct{ started bool }

func newWorkloadCluster(assets, namespace, name string) (*workloadCluster, error) {
	return &workloadCluster{}, nil
}
func (w *workloadCluster) Endpoint() (host string, port int32) { return "127.0.0.1", 6443 }
func (w *workloadCluster) Start(ctx context.Context, mgmt client.Client) error {
	w.started = true
	return nil
}
func (w *workloadCluster) Started() bool                                          { return w.started }
func (w *workloadCluster) RegisterNode(ctx context.Context, n workloadNode) error { return nil }
func (w *workloadCluster) SetNodeReady(ctx context.Context, name string, ready bool) error {
	return nil
}
func (w *workloadCluster) RemoveNode(ctx context.Context, name string) error { return nil }
func (w *workloadCluster) Client() (client.Client, error)                    { return nil, errors.New("stub") }
func (w *workloadCluster) Stop() error                                       { return nil }
