package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
)

// The Cluster health check calls a Cluster whose Available is Unknown only because its MachinePools report no
// Available (CAPI v1.13.4's MachinePool controller never sets it) healthy, and it recognises that case by the exact
// messages CAPI writes. This test builds those messages with CAPI's own util/conditions, the way
// internal/controllers/cluster/cluster_controller_status.go does (setWorkersAvailableCondition, then
// setAvailableCondition for a Cluster without topology, availability gates or deletion, where its custom merge
// strategy is the default one with Deleting of negative polarity), and holds them equal to the messages the
// generator's test feeds the checks (generator/test/health-checks.test.ts, MP_MESSAGES).

func workersAvailable(pools []string, mds map[string]metav1.ConditionStatus) (*metav1.Condition, error) {
	ws := []conditions.Getter{}
	for _, n := range pools {
		mp := &clusterv1.MachinePool{ObjectMeta: metav1.ObjectMeta{Name: n}}
		mp.Kind = "MachinePool"
		ws = append(ws, mp)
	}
	for n, s := range mds {
		md := &clusterv1.MachineDeployment{ObjectMeta: metav1.ObjectMeta{Name: n}}
		md.Kind = "MachineDeployment"
		if s != "" {
			reason := map[metav1.ConditionStatus]string{
				metav1.ConditionTrue:    clusterv1.MachineDeploymentAvailableReason,
				metav1.ConditionFalse:   clusterv1.MachineDeploymentNotAvailableReason,
				metav1.ConditionUnknown: clusterv1.MachineDeploymentAvailableWaitingForReplicasSetReason,
			}[s]
			msg := map[metav1.ConditionStatus]string{
				metav1.ConditionFalse:   "0 available replicas, at least 1 required (spec.strategy.rollout.maxUnavailable is 0, spec.replicas is 1)",
				metav1.ConditionUnknown: "Waiting for spec.replicas set",
			}[s]
			conditions.Set(md, metav1.Condition{Type: clusterv1.AvailableCondition, Status: s, Reason: reason, Message: msg})
		}
		ws = append(ws, md)
	}
	return conditions.NewAggregateCondition(ws, clusterv1.AvailableCondition,
		conditions.TargetConditionType(clusterv1.ClusterWorkersAvailableCondition),
		conditions.CustomMergeStrategy{MergeStrategy: conditions.DefaultMergeStrategy(
			conditions.ComputeReasonFunc(conditions.GetDefaultComputeMergeReasonFunc(
				clusterv1.ClusterWorkersNotAvailableReason,
				clusterv1.ClusterWorkersAvailableUnknownReason,
				clusterv1.ClusterWorkersAvailableReason,
			)),
		)},
	)
}

func clusterAvailable(workers metav1.Condition) (*metav1.Condition, error) {
	c := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c"}}
	for _, s := range []metav1.Condition{
		{Type: clusterv1.ClusterDeletingCondition, Status: metav1.ConditionFalse, Reason: clusterv1.ClusterNotDeletingReason},
		{Type: clusterv1.ClusterRemoteConnectionProbeCondition, Status: metav1.ConditionTrue, Reason: clusterv1.ClusterRemoteConnectionProbeSucceededReason},
		{Type: clusterv1.ClusterInfrastructureReadyCondition, Status: metav1.ConditionTrue, Reason: clusterv1.ClusterInfrastructureReadyReason},
		{Type: clusterv1.ClusterControlPlaneAvailableCondition, Status: metav1.ConditionTrue, Reason: clusterv1.ClusterControlPlaneAvailableReason},
		workers,
	} {
		conditions.Set(c, s)
	}
	return conditions.NewSummaryCondition(c, clusterv1.ClusterAvailableCondition,
		conditions.ForConditionTypes{
			clusterv1.ClusterDeletingCondition,
			clusterv1.ClusterRemoteConnectionProbeCondition,
			clusterv1.ClusterInfrastructureReadyCondition,
			clusterv1.ClusterControlPlaneAvailableCondition,
			clusterv1.ClusterWorkersAvailableCondition,
			clusterv1.ClusterTopologyReconciledCondition,
		},
		conditions.NegativePolarityConditionTypes{clusterv1.ClusterDeletingCondition},
		conditions.CustomMergeStrategy{MergeStrategy: conditions.DefaultMergeStrategy(
			conditions.GetPriorityFunc(conditions.GetDefaultMergePriorityFunc(clusterv1.ClusterDeletingCondition)),
			conditions.ComputeReasonFunc(conditions.GetDefaultComputeMergeReasonFunc(
				clusterv1.ClusterNotAvailableReason,
				clusterv1.ClusterAvailableUnknownReason,
				clusterv1.ClusterAvailableReason,
			)),
		)},
		conditions.IgnoreTypesIfMissing{clusterv1.ClusterTopologyReconciledCondition},
	)
}

const notReported = ": Condition Available not yet reported"

func TestHealthMachinePoolMessages(t *testing.T) {
	cases := []struct {
		name               string
		pools              []string
		mds                map[string]metav1.ConditionStatus
		workersStatus      metav1.ConditionStatus
		workers, available string
	}{
		{"one MachinePool", []string{"pool-0"}, nil, metav1.ConditionUnknown,
			"* MachinePool pool-0" + notReported,
			"* WorkersAvailable:\n  * MachinePool pool-0" + notReported},
		{"two MachinePools", []string{"pool-b", "pool-a"}, nil, metav1.ConditionUnknown,
			"* MachinePools pool-a, pool-b" + notReported,
			"* WorkersAvailable:\n  * MachinePools pool-a, pool-b" + notReported},
		{"five MachinePools", []string{"p1", "p2", "p3", "p4", "p5"}, nil, metav1.ConditionUnknown,
			"* MachinePools p1, p2, p3, ... (2 more)" + notReported,
			"* WorkersAvailable:\n  * MachinePools p1, p2, p3, ... (2 more)" + notReported},
		{"MachinePool and an available MachineDeployment", []string{"pool-0"},
			map[string]metav1.ConditionStatus{"md-0": metav1.ConditionTrue}, metav1.ConditionUnknown,
			"* MachinePool pool-0" + notReported,
			"* WorkersAvailable:\n  * MachinePool pool-0" + notReported},
		{"MachinePool and a MachineDeployment with Available Unknown", []string{"pool-0"},
			map[string]metav1.ConditionStatus{"md-0": metav1.ConditionUnknown}, metav1.ConditionUnknown,
			"* MachineDeployment md-0: Waiting for spec.replicas set\n* MachinePool pool-0" + notReported,
			"* WorkersAvailable:\n  * MachineDeployment md-0: Waiting for spec.replicas set\n  * MachinePool pool-0" + notReported},
		{"MachinePool and a MachineDeployment not available", []string{"pool-0"},
			map[string]metav1.ConditionStatus{"md-0": metav1.ConditionFalse}, metav1.ConditionFalse,
			"* MachineDeployment md-0: 0 available replicas, at least 1 required (spec.strategy.rollout.maxUnavailable is 0, spec.replicas is 1)\n* MachinePool pool-0" + notReported,
			"* WorkersAvailable:\n  * MachineDeployment md-0: 0 available replicas, at least 1 required (spec.strategy.rollout.maxUnavailable is 0, spec.replicas is 1)\n  * MachinePool pool-0" + notReported},
	}
	out := map[string]map[string]string{}
	for _, c := range cases {
		w, err := workersAvailable(c.pools, c.mds)
		if err != nil {
			t.Fatalf("%s: WorkersAvailable: %v", c.name, err)
		}
		a, err := clusterAvailable(*w)
		if err != nil {
			t.Fatalf("%s: Available: %v", c.name, err)
		}
		if w.Status != c.workersStatus || a.Status != c.workersStatus {
			t.Errorf("%s: WorkersAvailable %s, Available %s, want both %s", c.name, w.Status, a.Status, c.workersStatus)
		}
		if w.Message != c.workers {
			t.Errorf("%s: WorkersAvailable message\n%q\nwant\n%q", c.name, w.Message, c.workers)
		}
		if a.Message != c.available {
			t.Errorf("%s: Available message\n%q\nwant\n%q", c.name, a.Message, c.available)
		}
		out[c.name] = map[string]string{
			"workers":   fmt.Sprintf("%s %s %q", w.Status, w.Reason, w.Message),
			"available": fmt.Sprintf("%s %s %q", a.Status, a.Reason, a.Message),
		}
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	t.Logf("messages CAPI v1.13.4 writes:\n%s", b)
}
