package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	infrav1 "sigs.k8s.io/cluster-api-provider-aws/v2/api/v1beta2"
	expinfrav1 "sigs.k8s.io/cluster-api-provider-aws/v2/exp/api/v1beta2"
	clusterv1beta1 "sigs.k8s.io/cluster-api/api/core/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	v1beta1conditions "sigs.k8s.io/cluster-api/util/deprecated/v1beta1/conditions"
)

// The stand-in for CAPA. AWS is not reachable, so this does, one round at a time when the test calls Step, what
// CAPA v2.13.0's AWSCluster, AWSMachine and AWSMachinePool controllers do to their objects (finalizers, spec fields
// CAPA writes, status, the v1beta1 conditions CAPA sets with their reasons and severities), with "EC2" reduced to
// ids and states it keeps in the objects themselves. When an instance boots it does what cloud-init and kubeadm do
// on it to the workload cluster: the first control-plane instance brings up the API server, every instance
// registers its Node. What it does not model: the AWS API (errors, throttling, eventual consistency), load balancer
// health checks, security group rules, the AMI lookup, S3/secrets-manager bootstrap data, spot, EKS.

// standInFault is a failure the stand-in plants on request (what AWS would do to CAPA).
type standInFault struct {
	Kind faultKind
	// Target: the availability zone (subnet), the Machine name or "" for the first worker machine (instance), the
	// MachinePool name (launch template).
	Target string
}

type faultKind string

const (
	// faultSubnet: creating the subnet in one zone fails, so the AWSCluster's network never becomes ready.
	faultSubnet faultKind = "subnet"
	// faultInstance: the instance never reaches running (EC2 stops it while pending).
	faultInstance faultKind = "instance"
	// faultLaunchTemplate: EC2 rejects the AWSMachinePool's launch template.
	faultLaunchTemplate faultKind = "launch-template"
)

type standIn struct {
	c       client.Client
	cluster boxCluster
	w       *workloadCluster
	// started is called once the workload API server is up (the box's ClusterCaches may connect then).
	started func()
	faults  []standInFault
	// nodes registered in the workload cluster, by provider ID.
	nodes map[string]string
	// faultyMachine is the Machine the instance fault struck (resolved at its first instance).
	faultyMachine string
	log           logr.Logger
}

func newStandIn(c client.Client, cluster boxCluster, w *workloadCluster, started func()) *standIn {
	return &standIn{c: c, cluster: cluster, w: w, started: started, nodes: map[string]string{},
		log: ctrl.Log.WithName("stand-in-capa").WithValues("cluster", cluster.Namespace+"/"+cluster.Name)}
}

// Inject plants a fault; it takes effect from the next Step.
func (s *standIn) Inject(f standInFault) { s.faults = append(s.faults, f) }

func (s *standIn) fault(kind faultKind, target string) bool {
	for _, f := range s.faults {
		if f.Kind == kind && f.Target == target {
			return true
		}
	}
	return false
}

// Step does one round of what CAPA's controllers would do for the cluster's AWSCluster, AWSMachines and
// AWSMachinePools; changed says whether it wrote anything (the test steps until nothing changes and the CAPI
// controllers have settled).
func (s *standIn) Step(ctx context.Context) (bool, error) {
	cluster := &clusterv1.Cluster{}
	if err := s.c.Get(ctx, client.ObjectKey{Namespace: s.cluster.Namespace, Name: s.cluster.Name}, cluster); err != nil && !apierrors.IsNotFound(err) {
		return false, err
	} else if err != nil {
		cluster = nil
	}
	// CAPA's controllers skip every object of a paused cluster (predicates and annotations.IsPaused).
	if cluster != nil && (ptr.Deref(cluster.Spec.Paused, false) || metav1.HasAnnotation(cluster.ObjectMeta, clusterv1.PausedAnnotation)) {
		return false, nil
	}
	changed := false
	var errs []error
	sel := client.MatchingLabels{clusterv1.ClusterNameLabel: s.cluster.Name}
	awsClusters := &infrav1.AWSClusterList{}
	if err := s.c.List(ctx, awsClusters, client.InNamespace(s.cluster.Namespace)); err != nil {
		return false, err
	}
	for i := range awsClusters.Items {
		c, err := s.awsCluster(ctx, cluster, &awsClusters.Items[i])
		changed = changed || c
		errs = append(errs, err)
	}
	machines := &infrav1.AWSMachineList{}
	if err := s.c.List(ctx, machines, client.InNamespace(s.cluster.Namespace), sel); err != nil {
		return false, err
	}
	for i := range machines.Items {
		c, err := s.awsMachine(ctx, cluster, &machines.Items[i])
		changed = changed || c
		errs = append(errs, err)
	}
	pools := &expinfrav1.AWSMachinePoolList{}
	if err := s.c.List(ctx, pools, client.InNamespace(s.cluster.Namespace), sel); err != nil {
		return false, err
	}
	for i := range pools.Items {
		c, err := s.awsMachinePool(ctx, cluster, &pools.Items[i])
		changed = changed || c
		errs = append(errs, err)
	}
	err := errors.Join(errs...)
	if err != nil {
		s.log.Error(err, "step")
	}
	return changed, err
}

// id is a stable fake AWS id: prefix + hex of the parts.
func id(prefix string, n int, parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "/")))
	return prefix + hex.EncodeToString(h[:])[:n]
}

// write patches the object's metadata/spec and then its status, as CAPA's patch helper does, and says whether
// anything changed.
func (s *standIn) write(ctx context.Context, before, after client.Object) (bool, error) {
	p := client.MergeFrom(before)
	data, err := p.Data(after)
	if err != nil {
		return false, err
	}
	changed := false
	status := after.DeepCopyObject().(client.Object)
	if string(data) != "{}" {
		s.log.V(1).Info("patch", "kind", fmt.Sprintf("%T", after), "name", after.GetName(), "patch", string(data))
		if err := s.c.Patch(ctx, after, p); err != nil {
			// Gone meanwhile (a deletion finished): nothing left to write.
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return false, err
		}
		changed = true
	}
	sp := client.MergeFrom(before)
	sdata, err := sp.Data(status)
	if err != nil {
		return false, err
	}
	if string(sdata) != "{}" {
		// The spec patch above refreshed after from the server; the status patch goes from there.
		base := after.DeepCopyObject().(client.Object)
		copyStatus(status, after)
		if err := s.c.Status().Patch(ctx, after, client.MergeFrom(base)); err != nil {
			if apierrors.IsNotFound(err) {
				return changed, nil
			}
			return changed, err
		}
		d, _ := client.MergeFrom(base).Data(after)
		changed = changed || string(d) != "{}"
	}
	return changed, nil
}

// copyStatus copies the status of from into to (same kind).
func copyStatus(from, to client.Object) {
	switch f := from.(type) {
	case *infrav1.AWSCluster:
		to.(*infrav1.AWSCluster).Status = f.Status
	case *infrav1.AWSMachine:
		to.(*infrav1.AWSMachine).Status = f.Status
	case *expinfrav1.AWSMachinePool:
		to.(*expinfrav1.AWSMachinePool).Status = f.Status
	}
}

func ownedBy(obj metav1.Object, kind string) (string, bool) {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.Kind == kind && strings.HasPrefix(ref.APIVersion, clusterv1.GroupVersion.Group+"/") {
			return ref.Name, true
		}
	}
	return "", false
}

func initialized(cluster *clusterv1.Cluster) bool {
	return cluster != nil && ptr.Deref(cluster.Status.Initialization.ControlPlaneInitialized, false)
}

// severity is CAPA's ErrorConditionAfterInit: a failure is a Warning until the control plane is initialized.
func severity(cluster *clusterv1.Cluster) clusterv1beta1.ConditionSeverity {
	if initialized(cluster) {
		return clusterv1beta1.ConditionSeverityError
	}
	return clusterv1beta1.ConditionSeverityWarning
}

func (s *standIn) awsCluster(ctx context.Context, cluster *clusterv1.Cluster, in *infrav1.AWSCluster) (bool, error) {
	ac := in.DeepCopy()
	if !ac.DeletionTimestamp.IsZero() {
		// CAPA deletes the load balancer, security groups and network, then lets the object go.
		if controllerutil.RemoveFinalizer(ac, infrav1.ClusterFinalizer) {
			return s.write(ctx, in, ac)
		}
		return false, nil
	}
	if _, ok := ownedBy(ac, "Cluster"); !ok || cluster == nil {
		// "Cluster Controller has not yet set OwnerRef"
		return false, nil
	}
	controllerutil.AddFinalizer(ac, infrav1.ClusterFinalizer)

	// Network: VPC, subnets (the spec'd ones; without any, a private and a public one per zone of the cluster, as
	// CAPA's default does for up to three zones), gateways, route tables.
	ac.Spec.NetworkSpec.VPC.ID = id("vpc-", 17, ac.Namespace, ac.Name)
	if len(ac.Spec.NetworkSpec.Subnets) == 0 {
		for i, z := range s.cluster.Zones {
			if i == 3 {
				break
			}
			for _, public := range []bool{false, true} {
				kind := "private"
				if public {
					kind = "public"
				}
				ac.Spec.NetworkSpec.Subnets = append(ac.Spec.NetworkSpec.Subnets, infrav1.SubnetSpec{
					ID: fmt.Sprintf("%s-subnet-%s-%s", ac.Name, kind, z), AvailabilityZone: z, IsPublic: public,
				})
			}
		}
	}
	v1beta1conditions.MarkTrue(ac, infrav1.VpcReadyCondition)
	failed := ""
	for i := range ac.Spec.NetworkSpec.Subnets {
		sn := &ac.Spec.NetworkSpec.Subnets[i]
		if s.fault(faultSubnet, sn.AvailabilityZone) {
			failed = sn.AvailabilityZone
			continue
		}
		if sn.ResourceID == "" {
			sn.ResourceID = id("subnet-", 17, ac.Namespace, ac.Name, sn.ID)
		}
		sn.RouteTableID = ptr.To(id("rtb-", 17, ac.Namespace, ac.Name, sn.ID))
		if !sn.IsPublic {
			sn.NatGatewayID = ptr.To(id("nat-", 17, ac.Namespace, ac.Name, sn.AvailabilityZone))
		}
	}
	if failed != "" {
		// CAPA's network service stops at the first failure: subnets not ready, nothing after it reconciled, the
		// AWSCluster never ready.
		v1beta1conditions.MarkFalse(ac, infrav1.SubnetsReadyCondition, infrav1.SubnetsReconciliationFailedReason, severity(cluster),
			"failed to create new managed subnet: InsufficientFreeAddressesInSubnet: no capacity for subnet in availability zone %q", failed)
		ac.Status.Ready = false
		s.summarizeCluster(ac)
		return s.write(ctx, in, ac)
	}
	for _, c := range []clusterv1beta1.ConditionType{infrav1.SubnetsReadyCondition, infrav1.InternetGatewayReadyCondition,
		infrav1.NatGatewaysReadyCondition, infrav1.RouteTablesReadyCondition, infrav1.VpcEndpointsReadyCondition,
		infrav1.ClusterSecurityGroupsReadyCondition, infrav1.S3BucketReadyCondition} {
		v1beta1conditions.MarkTrue(ac, c)
	}
	// Control-plane load balancer: its DNS name is the endpoint; here the workload API server's loopback address.
	host, port := s.w.Endpoint()
	lbZones := []string{}
	lbSubnets := []string{}
	for _, sn := range ac.Spec.NetworkSpec.Subnets {
		public := ac.Spec.ControlPlaneLoadBalancer == nil || ac.Spec.ControlPlaneLoadBalancer.Scheme == nil || *ac.Spec.ControlPlaneLoadBalancer.Scheme != infrav1.ELBSchemeInternal
		if sn.IsPublic == public {
			lbZones = append(lbZones, sn.AvailabilityZone)
			lbSubnets = append(lbSubnets, sn.ResourceID)
		}
	}
	ac.Status.Network.APIServerELB.Name = id("", 20, ac.Namespace, ac.Name, "apiserver")
	ac.Status.Network.APIServerELB.DNSName = host
	ac.Status.Network.APIServerELB.AvailabilityZones = lbZones
	ac.Status.Network.APIServerELB.SubnetIDs = lbSubnets
	if ac.Spec.ControlPlaneLoadBalancer != nil {
		ac.Status.Network.APIServerELB.LoadBalancerType = ac.Spec.ControlPlaneLoadBalancer.LoadBalancerType
		if ac.Spec.ControlPlaneLoadBalancer.Scheme != nil {
			ac.Status.Network.APIServerELB.Scheme = *ac.Spec.ControlPlaneLoadBalancer.Scheme
		}
	}
	v1beta1conditions.MarkTrue(ac, infrav1.LoadBalancerReadyCondition)
	if ac.Spec.ControlPlaneEndpoint.Host == "" {
		ac.Spec.ControlPlaneEndpoint = clusterv1beta1.APIEndpoint{Host: host, Port: port}
	}
	// Failure domains: every zone with a private subnet; control-plane machines only where the load balancer is.
	ac.Status.FailureDomains = clusterv1beta1.FailureDomains{}
	for _, sn := range ac.Spec.NetworkSpec.Subnets.FilterPrivate() {
		ac.Status.FailureDomains[sn.AvailabilityZone] = clusterv1beta1.FailureDomainSpec{ControlPlane: contains(lbZones, sn.AvailabilityZone)}
	}
	ac.Status.Ready = true
	s.summarizeCluster(ac)
	return s.write(ctx, in, ac)
}

func (s *standIn) summarizeCluster(ac *infrav1.AWSCluster) {
	v1beta1conditions.SetSummary(ac, v1beta1conditions.WithConditions(infrav1.VpcReadyCondition, infrav1.SubnetsReadyCondition,
		infrav1.ClusterSecurityGroupsReadyCondition, infrav1.LoadBalancerReadyCondition),
		v1beta1conditions.WithStepCounterIf(ac.DeletionTimestamp.IsZero()), v1beta1conditions.WithStepCounter())
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// privateSubnet is the subnet CAPA's findSubnet picks for a machine in zone (private, not a CNI subnet).
func privateSubnet(ac *infrav1.AWSCluster, zone string) *infrav1.SubnetSpec {
	for _, sn := range ac.Spec.NetworkSpec.Subnets.FilterPrivate().FilterByZone(zone) {
		if sn.ResourceID != "" {
			return &sn
		}
	}
	return nil
}

func (s *standIn) infraCluster(ctx context.Context, cluster *clusterv1.Cluster) (*infrav1.AWSCluster, error) {
	ac := &infrav1.AWSCluster{}
	if cluster == nil {
		return nil, nil
	}
	err := s.c.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: cluster.Spec.InfrastructureRef.Name}, ac)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return ac, err
}

func nodeName(region, ip string) string {
	return "ip-" + strings.ReplaceAll(ip, ".", "-") + "." + region + ".compute.internal"
}

// privateIP is a stable address in the subnet's /20 for the instance.
func privateIP(cidr, instanceID string) string {
	base := strings.Split(strings.Split(cidr, "/")[0], ".")
	if len(base) != 4 {
		base = []string{"10", "0", "0", "0"}
	}
	h := sha256.Sum256([]byte(instanceID))
	third := 0
	fmt.Sscanf(base[2], "%d", &third)
	return fmt.Sprintf("%s.%s.%d.%d", base[0], base[1], third+int(h[0]%15), 4+int(h[1]%250))
}

func (s *standIn) awsMachine(ctx context.Context, cluster *clusterv1.Cluster, in *infrav1.AWSMachine) (bool, error) {
	am := in.DeepCopy()
	machineName, owned := ownedBy(am, "Machine")
	machine := &clusterv1.Machine{}
	if owned {
		if err := s.c.Get(ctx, client.ObjectKey{Namespace: am.Namespace, Name: machineName}, machine); err != nil && !apierrors.IsNotFound(err) {
			return false, err
		} else if err != nil {
			machine = nil
		}
	}
	if !am.DeletionTimestamp.IsZero() {
		// CAPA terminates the instance and waits for it; the node leaves the workload cluster with it.
		if am.Spec.ProviderID != nil {
			if name, ok := s.nodes[*am.Spec.ProviderID]; ok {
				if err := s.w.RemoveNode(ctx, name); err != nil {
					return false, fmt.Errorf("AWSMachine/%s: removing node %s: %w", am.Name, name, err)
				}
				delete(s.nodes, *am.Spec.ProviderID)
			}
		}
		if controllerutil.RemoveFinalizer(am, infrav1.MachineFinalizer) {
			return s.write(ctx, in, am)
		}
		return false, nil
	}
	if !owned || machine == nil || cluster == nil {
		// "Machine Controller has not yet set OwnerRef"
		return false, nil
	}
	controllerutil.AddFinalizer(am, infrav1.MachineFinalizer)
	ac, err := s.infraCluster(ctx, cluster)
	if err != nil {
		return false, err
	}
	summarize := func() {
		v1beta1conditions.SetSummary(am, v1beta1conditions.WithConditions(infrav1.InstanceReadyCondition, infrav1.SecurityGroupsReadyCondition),
			v1beta1conditions.WithStepCounterIf(am.DeletionTimestamp.IsZero()), v1beta1conditions.WithStepCounter())
	}
	if ac == nil || !ptr.Deref(cluster.Status.Initialization.InfrastructureProvisioned, false) {
		v1beta1conditions.MarkFalse(am, infrav1.InstanceReadyCondition, infrav1.WaitingForClusterInfrastructureReason, clusterv1beta1.ConditionSeverityInfo, "")
		summarize()
		return s.write(ctx, in, am)
	}
	if machine.Spec.Bootstrap.DataSecretName == nil {
		v1beta1conditions.MarkFalse(am, infrav1.InstanceReadyCondition, infrav1.WaitingForBootstrapDataReason, clusterv1beta1.ConditionSeverityInfo, "")
		summarize()
		return s.write(ctx, in, am)
	}
	if am.Spec.InstanceID == nil {
		zone := machine.Spec.FailureDomain
		var subnet *infrav1.SubnetSpec
		if zone == "" {
			// No failure domain: CAPA takes the first private subnet.
			if p := ac.Spec.NetworkSpec.Subnets.FilterPrivate(); len(p) > 0 {
				subnet = &p[0]
				zone = subnet.AvailabilityZone
			}
		} else {
			subnet = privateSubnet(ac, zone)
		}
		if subnet == nil {
			v1beta1conditions.MarkFalse(am, infrav1.InstanceReadyCondition, infrav1.InstanceProvisionFailedReason, clusterv1beta1.ConditionSeverityError,
				"failed to create AWSMachine instance: failed to run machine %q, no subnets available in availability zone %q", am.Name, zone)
			summarize()
			return s.write(ctx, in, am)
		}
		instanceID := id("i-", 17, am.Namespace, am.Name, string(am.UID))
		am.Spec.InstanceID = ptr.To(instanceID)
		am.Spec.ProviderID = ptr.To(fmt.Sprintf("aws:///%s/%s", zone, instanceID))
		ip := privateIP(subnet.CidrBlock, instanceID)
		am.Status.Addresses = []clusterv1beta1.MachineAddress{
			{Type: clusterv1beta1.MachineInternalIP, Address: ip},
			{Type: clusterv1beta1.MachineInternalDNS, Address: nodeName(ac.Spec.Region, ip)},
		}
		am.Status.InstanceState = ptr.To(infrav1.InstanceStatePending)
		v1beta1conditions.MarkTrue(am, infrav1.SecurityGroupsReadyCondition)
		v1beta1conditions.MarkFalse(am, infrav1.InstanceReadyCondition, infrav1.InstanceNotReadyReason, clusterv1beta1.ConditionSeverityWarning, "")
		if s.faultyMachine == "" && s.fault(faultInstance, "") && !isControlPlane(machine) {
			s.faultyMachine = machine.Name
		}
		summarize()
		return s.write(ctx, in, am)
	}
	if s.fault(faultInstance, machine.Name) || (s.faultyMachine == machine.Name) {
		// The instance never reaches running: EC2 stops it.
		am.Status.InstanceState = ptr.To(infrav1.InstanceStateStopped)
		am.Status.Ready = false
		v1beta1conditions.MarkFalse(am, infrav1.InstanceReadyCondition, infrav1.InstanceStoppedReason, clusterv1beta1.ConditionSeverityError, "")
		summarize()
		return s.write(ctx, in, am)
	}
	am.Status.InstanceState = ptr.To(infrav1.InstanceStateRunning)
	am.Status.Ready = true
	v1beta1conditions.MarkTrue(am, infrav1.InstanceReadyCondition)
	if isControlPlane(machine) {
		v1beta1conditions.MarkTrue(am, infrav1.ELBAttachedCondition)
	}
	summarize()
	changed, err := s.write(ctx, in, am)
	if err != nil {
		return changed, err
	}
	// The instance boots: kubeadm init on the first control-plane instance, kubeadm join elsewhere (once the API
	// server is there to join).
	ip := am.Status.Addresses[0].Address
	booted, err := s.boot(ctx, "AWSMachine/"+am.Name, workloadNode{
		Name: nodeName(ac.Spec.Region, ip), ProviderID: *am.Spec.ProviderID, Zone: zoneOf(*am.Spec.ProviderID),
		InstanceType: am.Spec.InstanceType, Version: ptr.Deref(machineVersion(machine), ""), InternalIP: ip, ControlPlane: isControlPlane(machine),
	})
	return changed || booted, err
}

func machineVersion(m *clusterv1.Machine) *string {
	if m.Spec.Version == "" {
		return nil
	}
	return &m.Spec.Version
}

func isControlPlane(m *clusterv1.Machine) bool {
	_, ok := m.Labels[clusterv1.MachineControlPlaneLabel]
	return ok
}

func zoneOf(providerID string) string {
	parts := strings.Split(strings.TrimPrefix(providerID, "aws:///"), "/")
	if len(parts) == 2 {
		return parts[0]
	}
	return ""
}

// boot registers the instance's node, starting the workload API server first when a control-plane instance
// boots and it is not up yet (kubeadm init: the workload side also leaves what kubeadm uploads, kubeadm-config).
// owner names the object the instance belongs to, for errors.
func (s *standIn) boot(ctx context.Context, owner string, n workloadNode) (bool, error) {
	if _, ok := s.nodes[n.ProviderID]; ok {
		return false, nil
	}
	changed := false
	if !s.w.Started() {
		if !n.ControlPlane {
			// kubeadm join retries until the control plane answers.
			return false, nil
		}
		if err := s.w.Start(ctx, s.c); err != nil {
			return false, fmt.Errorf("%s: starting the workload API server: %w", owner, err)
		}
		if s.started != nil {
			s.started()
		}
		changed = true
	}
	if err := s.w.RegisterNode(ctx, n); err != nil {
		return changed, fmt.Errorf("%s: registering node %s: %w", owner, n.Name, err)
	}
	s.nodes[n.ProviderID] = n.Name
	return true, nil
}

// poolZones is where CAPA places an AWSMachinePool's instances: its subnets' zones, else its availability zones,
// else the MachinePool's failure domains, else the zones of the cluster's private subnets.
func poolZones(ac *infrav1.AWSCluster, amp *expinfrav1.AWSMachinePool, mp *clusterv1.MachinePool) []string {
	var zones []string
	for _, ref := range amp.Spec.Subnets {
		for _, sn := range ac.Spec.NetworkSpec.Subnets {
			if ref.ID != nil && (*ref.ID == sn.ResourceID || *ref.ID == sn.ID) && !contains(zones, sn.AvailabilityZone) {
				zones = append(zones, sn.AvailabilityZone)
			}
		}
	}
	if len(zones) == 0 {
		zones = append(zones, amp.Spec.AvailabilityZones...)
	}
	if len(zones) == 0 {
		zones = append(zones, mp.Spec.FailureDomains...)
	}
	if len(zones) == 0 {
		for _, sn := range ac.Spec.NetworkSpec.Subnets.FilterPrivate() {
			if !contains(zones, sn.AvailabilityZone) {
				zones = append(zones, sn.AvailabilityZone)
			}
		}
	}
	return zones
}

// launchTemplateInputs is what makes CAPA write a new launch template version (and refresh the instances): the
// image (from the Kubernetes version), the instance type and the bootstrap data secret's name.
func launchTemplateInputs(amp *expinfrav1.AWSMachinePool, mp *clusterv1.MachinePool) string {
	return strings.Join([]string{mp.Spec.Template.Spec.Version, amp.Spec.AWSLaunchTemplate.InstanceType,
		ptr.Deref(mp.Spec.Template.Spec.Bootstrap.DataSecretName, "")}, "/")
}

const launchTemplateInputsAnnotation = "e2e.capi-gitops.io/launch-template-inputs"

func (s *standIn) awsMachinePool(ctx context.Context, cluster *clusterv1.Cluster, in *expinfrav1.AWSMachinePool) (bool, error) {
	amp := in.DeepCopy()
	mpName, owned := ownedBy(amp, "MachinePool")
	mp := &clusterv1.MachinePool{}
	if owned {
		if err := s.c.Get(ctx, client.ObjectKey{Namespace: amp.Namespace, Name: mpName}, mp); err != nil && !apierrors.IsNotFound(err) {
			return false, err
		} else if err != nil {
			mp = nil
		}
	}
	summarize := func() {
		v1beta1conditions.SetSummary(amp, v1beta1conditions.WithConditions(expinfrav1.ASGReadyCondition, expinfrav1.LaunchTemplateReadyCondition),
			v1beta1conditions.WithStepCounterIfOnly(expinfrav1.ASGReadyCondition, expinfrav1.LaunchTemplateReadyCondition))
	}
	if !amp.DeletionTimestamp.IsZero() {
		// CAPA deletes the ASG (its instances with it) and the launch template.
		for _, pid := range amp.Spec.ProviderIDList {
			if name, ok := s.nodes[pid]; ok {
				if err := s.w.RemoveNode(ctx, name); err != nil {
					return false, fmt.Errorf("AWSMachinePool/%s: removing node %s: %w", amp.Name, name, err)
				}
				delete(s.nodes, pid)
			}
		}
		if controllerutil.RemoveFinalizer(amp, expinfrav1.MachinePoolFinalizer) {
			return s.write(ctx, in, amp)
		}
		return false, nil
	}
	if !owned || mp == nil || cluster == nil {
		return false, nil
	}
	controllerutil.AddFinalizer(amp, expinfrav1.MachinePoolFinalizer)
	ac, err := s.infraCluster(ctx, cluster)
	if err != nil {
		return false, err
	}
	if ac == nil || !ptr.Deref(cluster.Status.Initialization.InfrastructureProvisioned, false) {
		v1beta1conditions.MarkFalse(amp, expinfrav1.ASGReadyCondition, infrav1.WaitingForClusterInfrastructureReason, clusterv1beta1.ConditionSeverityInfo, "")
		summarize()
		return s.write(ctx, in, amp)
	}
	if mp.Spec.Template.Spec.Bootstrap.DataSecretName == nil {
		v1beta1conditions.MarkFalse(amp, expinfrav1.ASGReadyCondition, infrav1.WaitingForBootstrapDataReason, clusterv1beta1.ConditionSeverityInfo, "")
		summarize()
		return s.write(ctx, in, amp)
	}
	if s.fault(faultLaunchTemplate, mp.Name) {
		v1beta1conditions.MarkFalse(amp, expinfrav1.LaunchTemplateReadyCondition, expinfrav1.LaunchTemplateCreateFailedReason, clusterv1beta1.ConditionSeverityError,
			"failed to create launch template: InvalidParameterValue: the instance type %q is not supported in this launch template", amp.Spec.AWSLaunchTemplate.InstanceType)
		summarize()
		return s.write(ctx, in, amp)
	}
	// Launch template: a new version whenever its inputs change; the instances of older versions are refreshed.
	inputs := launchTemplateInputs(amp, mp)
	if amp.Status.LaunchTemplateID == "" {
		amp.Status.LaunchTemplateID = id("lt-", 17, amp.Namespace, amp.Name)
	}
	if amp.Annotations[launchTemplateInputsAnnotation] != inputs {
		next := 1
		if amp.Status.LaunchTemplateVersion != nil {
			fmt.Sscanf(*amp.Status.LaunchTemplateVersion, "%d", &next)
			next++
		}
		amp.Status.LaunchTemplateVersion = ptr.To(fmt.Sprint(next))
		if amp.Annotations == nil {
			amp.Annotations = map[string]string{}
		}
		amp.Annotations[launchTemplateInputsAnnotation] = inputs
	}
	v1beta1conditions.MarkTrue(amp, expinfrav1.LaunchTemplateReadyCondition)
	version := *amp.Status.LaunchTemplateVersion

	// ASG: desired capacity = MachinePool replicas; one instance launched or refreshed per step (min healthy 100%:
	// a new instance first, the old one after), spread over the pool's zones.
	zones := poolZones(ac, amp, mp)
	desired := int(ptr.Deref(mp.Spec.Replicas, 1))
	var current, old []expinfrav1.AWSMachinePoolInstanceStatus
	for _, i := range amp.Status.Instances {
		if ptr.Deref(i.Version, "") == version {
			current = append(current, i)
		} else {
			old = append(old, i)
		}
	}
	byID := map[string]string{}
	for _, pid := range amp.Spec.ProviderIDList {
		byID[pid[strings.LastIndex(pid, "/")+1:]] = pid
	}
	switch {
	case len(current) < desired:
		n := len(amp.Status.Instances)
		zone := zones[n%len(zones)]
		if privateSubnet(ac, zone) == nil {
			v1beta1conditions.MarkFalse(amp, expinfrav1.ASGReadyCondition, expinfrav1.ASGProvisionFailedReason, clusterv1beta1.ConditionSeverityError,
				"failed to create AWSMachinePool: no subnets available in availability zone %q", zone)
			summarize()
			return s.write(ctx, in, amp)
		}
		iid := id("i-", 17, amp.Namespace, amp.Name, fmt.Sprint(n), version, string(amp.UID))
		amp.Status.Instances = append(amp.Status.Instances, expinfrav1.AWSMachinePoolInstanceStatus{InstanceID: iid, Version: ptr.To(version)})
		byID[iid] = fmt.Sprintf("aws:///%s/%s", zone, iid)
	case len(old) > 0 || len(current) > desired:
		// Terminate one: an old-version instance first, else the newest surplus one.
		victim := ""
		if len(old) > 0 {
			victim = old[0].InstanceID
		} else {
			victim = current[len(current)-1].InstanceID
		}
		var keep []expinfrav1.AWSMachinePoolInstanceStatus
		for _, i := range amp.Status.Instances {
			if i.InstanceID != victim {
				keep = append(keep, i)
			}
		}
		amp.Status.Instances = keep
		if pid, ok := byID[victim]; ok {
			if name, ok := s.nodes[pid]; ok {
				if err := s.w.RemoveNode(ctx, name); err != nil {
					return false, err
				}
				delete(s.nodes, pid)
			}
		}
		delete(byID, victim)
	}
	amp.Spec.ProviderIDList = nil
	for _, i := range amp.Status.Instances {
		amp.Spec.ProviderIDList = append(amp.Spec.ProviderIDList, byID[i.InstanceID])
	}
	sort.Strings(amp.Spec.ProviderIDList)
	amp.Status.Replicas = int32(len(amp.Spec.ProviderIDList))
	amp.Status.Ready = true
	v1beta1conditions.MarkTrue(amp, expinfrav1.ASGReadyCondition)
	summarize()
	changed, err := s.write(ctx, in, amp)
	if err != nil {
		return changed, err
	}
	// Instances launched in an earlier step have booted now: their nodes join.
	for _, pid := range amp.Spec.ProviderIDList {
		if _, ok := s.nodes[pid]; ok || !contains(in.Spec.ProviderIDList, pid) {
			continue
		}
		zone := zoneOf(pid)
		sn := privateSubnet(ac, zone)
		if sn == nil {
			continue
		}
		ip := privateIP(sn.CidrBlock, pid)
		booted, err := s.boot(ctx, "AWSMachinePool/"+amp.Name, workloadNode{
			Name: nodeName(ac.Spec.Region, ip), ProviderID: pid, Zone: zone, InstanceType: amp.Spec.AWSLaunchTemplate.InstanceType,
			Version: mp.Spec.Template.Spec.Version, InternalIP: ip,
		})
		changed = changed || booted
		if err != nil {
			return changed, err
		}
	}
	return changed, nil
}
