package program

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2transitgateway"
	"github.com/pulumi/pulumi-tls/sdk/v5/go/tls"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/labctl/labctl/lab"
)

// canonical is the AWS account Ubuntu's official images come from.
const canonical = "099720109477"

// ubuntuImages is the current Ubuntu LTS (24.04) server image name pattern.
const ubuntuImages = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-%s-server-*"

// Tag keys on everything the program makes in AWS: every resource AWS
// can tag carries the lab's name and end, and a node's resources
// (instance, root volume, Elastic IP) its attendee's number and node name.
// labctl sweep finds what a crashed run left by these tags.
const (
	TagLab    = "labctl:lab"
	TagEndsAt = "labctl:endsAt" // RFC 3339, or "none"
	// TagAttendee is the attendee number the cluster was made for (its
	// cluster number: labctl swap moves attendees between clusters
	// without retagging), or SpareTag on a spare's; TagCluster is the
	// cluster's number, spare or not.
	TagAttendee = "labctl:attendee"
	SpareTag    = "spare"
	TagCluster  = "labctl:cluster"
	TagNode     = "labctl:node"
)

// Instance states of the InstanceState resources.
const (
	StateRunning = "running"
	StateStopped = "stopped"
)

// InstanceStateType is the resource that starts and stops an instance
// (Terraform's aws_ec2_instance_state, which pulumi-aws files under
// ec2transitgateway).
const InstanceStateType = "aws:ec2transitgateway/instanceState:InstanceState"

// graviton matches ARM instance families (t4g, m7g, c7gn, r8gd...).
var graviton = regexp.MustCompile(`^[a-z]+\d+g[a-z]*\.`)

// amiArch is the Ubuntu image architecture an instance type needs.
func amiArch(instanceType string) string {
	if graviton.MatchString(instanceType) {
		return "arm64"
	}
	return "amd64"
}

// awsNodes makes the lab's network, security group, key pair, and one
// instance per node with a host key generated here.
func awsNodes(ctx *pulumi.Context, s Spec) ([][]node, error) {
	endsAt := s.EndsAt
	if endsAt == "" {
		endsAt = "none"
	}
	tags := func(extra ...string) pulumi.StringMap {
		m := pulumi.StringMap{TagLab: pulumi.String(s.Lab), TagEndsAt: pulumi.String(endsAt)}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = pulumi.String(extra[i+1])
		}
		return m
	}
	prov, err := aws.NewProvider(ctx, "aws-"+s.AWS.Region, &aws.ProviderArgs{Region: pulumi.String(s.AWS.Region)})
	if err != nil {
		return nil, err
	}
	opt := pulumi.Provider(prov)
	vpcID, subnetID, err := awsNetwork(ctx, s, prov, tags)
	if err != nil {
		return nil, err
	}
	var allowFrom pulumi.StringArray
	for _, c := range s.AWS.AllowFrom {
		allowFrom = append(allowFrom, pulumi.String(c))
	}
	anywhere := pulumi.StringArray{pulumi.String("0.0.0.0/0")}
	sg, err := ec2.NewSecurityGroup(ctx, s.Lab, &ec2.SecurityGroupArgs{
		Description: pulumi.String("labctl lab " + s.Lab),
		VpcId:       vpcID,
		Ingress: ec2.SecurityGroupIngressArray{
			ec2.SecurityGroupIngressArgs{Description: pulumi.String("SSH"), Protocol: pulumi.String("tcp"), FromPort: pulumi.Int(22), ToPort: pulumi.Int(22), CidrBlocks: allowFrom},
			ec2.SecurityGroupIngressArgs{Description: pulumi.String("between the lab's nodes"), Protocol: pulumi.String("-1"), FromPort: pulumi.Int(0), ToPort: pulumi.Int(0), Self: pulumi.Bool(true)},
			ec2.SecurityGroupIngressArgs{Description: pulumi.String("NodePorts"), Protocol: pulumi.String("tcp"), FromPort: pulumi.Int(30000), ToPort: pulumi.Int(32767), CidrBlocks: anywhere},
			ec2.SecurityGroupIngressArgs{Description: pulumi.String("HTTP"), Protocol: pulumi.String("tcp"), FromPort: pulumi.Int(80), ToPort: pulumi.Int(80), CidrBlocks: anywhere},
			ec2.SecurityGroupIngressArgs{Description: pulumi.String("HTTPS"), Protocol: pulumi.String("tcp"), FromPort: pulumi.Int(443), ToPort: pulumi.Int(443), CidrBlocks: anywhere},
		},
		Egress: ec2.SecurityGroupEgressArray{
			ec2.SecurityGroupEgressArgs{Protocol: pulumi.String("-1"), FromPort: pulumi.Int(0), ToPort: pulumi.Int(0), CidrBlocks: anywhere},
		},
		Tags: tags("Name", "labctl-"+s.Lab),
	}, opt)
	if err != nil {
		return nil, err
	}
	keyPair, err := ec2.NewKeyPair(ctx, s.Lab, &ec2.KeyPairArgs{
		KeyName:   pulumi.String("labctl-" + s.Lab),
		PublicKey: pulumi.String(s.AuthorizedKey),
		Tags:      tags(),
	}, opt)
	if err != nil {
		return nil, err
	}
	mostRecent := true
	ami, err := ec2.LookupAmi(ctx, &ec2.LookupAmiArgs{
		Owners:     []string{canonical},
		MostRecent: &mostRecent,
		Filters: []ec2.GetAmiFilter{
			{Name: "name", Values: []string{fmt.Sprintf(ubuntuImages, amiArch(s.AWS.InstanceType))}},
			{Name: "virtualization-type", Values: []string{"hvm"}},
		},
	}, pulumi.Provider(prov))
	if err != nil {
		return nil, fmt.Errorf("Ubuntu image lookup in %s: %w", s.AWS.Region, err)
	}
	clusters := make([][]node, s.clusters())
	err = each(s, func(c int, name string) error {
		label := lab.Label(c, name)
		hostKey, err := tls.NewPrivateKey(ctx, nodeName(c, name)+"-host-key", &tls.PrivateKeyArgs{Algorithm: pulumi.String("ED25519")})
		if err != nil {
			return err
		}
		userData := pulumi.All(hostKey.PrivateKeyOpenssh, hostKey.PublicKeyOpenssh).ApplyT(func(v []any) (string, error) {
			return renderCloudInit(cloudInitData{Label: label, AuthorizedKey: s.AuthorizedKey,
				HostPrivateKey: v[0].(string), HostPublicKey: keyOnly(v[1].(string))})
		}).(pulumi.StringOutput)
		nodeTags := func() pulumi.StringMap {
			return tags("Name", fmt.Sprintf("%s-%02d-%s", s.Lab, c, name), TagAttendee, s.attendeeTag(c), TagCluster, strconv.Itoa(c), TagNode, name)
		}
		inst, err := ec2.NewInstance(ctx, nodeName(c, name), &ec2.InstanceArgs{
			Ami:                      pulumi.String(ami.Id),
			InstanceType:             pulumi.String(s.AWS.InstanceType),
			SubnetId:                 subnetID,
			AssociatePublicIpAddress: pulumi.Bool(true),
			VpcSecurityGroupIds:      pulumi.StringArray{sg.ID()},
			KeyName:                  keyPair.KeyName,
			RootBlockDevice: &ec2.InstanceRootBlockDeviceArgs{VolumeSize: pulumi.Int(s.AWS.DiskSize), VolumeType: pulumi.String("gp3"),
				Tags: nodeTags()},
			UserData:                pulumi.ToSecret(userData).(pulumi.StringOutput),
			UserDataReplaceOnChange: pulumi.Bool(true),
			Tags:                    nodeTags(),
		}, opt,
			// A newer Ubuntu image is for new nodes: a running class is
			// not rebuilt because Canonical published one.
			pulumi.IgnoreChanges([]string{"ami"}))
		if err != nil {
			return err
		}
		public := inst.PublicIp
		if s.AWS.ElasticIPs() {
			// The address on the cards and in the API server's certificate
			// survives labctl stop: a stopped instance gives its
			// auto-assigned address back, never its Elastic IP.
			eip, err := ec2.NewEip(ctx, nodeName(c, name), &ec2.EipArgs{
				Domain: pulumi.String("vpc"), Instance: inst.ID(), Tags: nodeTags(),
			}, opt)
			if err != nil {
				return err
			}
			public = eip.PublicIp
		}
		// labctl stop and start change this resource's state, and nothing
		// else: a stop is an ACPI shutdown (systemd stops kubelet, the
		// containers and etcd in order), not a forced one.
		state := StateRunning
		if s.stopped(c) {
			state = StateStopped
		}
		if _, err := ec2transitgateway.NewInstanceState(ctx, nodeName(c, name), &ec2transitgateway.InstanceStateArgs{
			InstanceId: inst.ID(), State: pulumi.String(state), Force: pulumi.Bool(false),
		}, opt); err != nil {
			return err
		}
		clusters[c-1] = append(clusters[c-1], node{
			name: name, public: public, private: inst.PrivateIp, id: inst.ID().ToStringOutput(),
			hostKey: trimKey(hostKey.PublicKeyOpenssh), port: 22, user: s.User,
		})
		return nil
	})
	return clusters, err
}

// trimKey drops the newline tls puts after an OpenSSH public key.
func trimKey(k pulumi.StringOutput) pulumi.StringOutput {
	return k.ApplyT(func(s string) string { return keyOnly(s) }).(pulumi.StringOutput)
}

// awsNetwork is the region's default VPC and one of its default subnets,
// or a VPC of the lab's own with one public subnet.
func awsNetwork(ctx *pulumi.Context, s Spec, prov *aws.Provider, tags func(...string) pulumi.StringMap) (pulumi.StringInput, pulumi.StringInput, error) {
	opt := pulumi.Provider(prov)
	if s.AWS.VPC == "default" {
		isDefault := true
		vpc, err := ec2.LookupVpc(ctx, &ec2.LookupVpcArgs{Default: &isDefault}, opt)
		if err != nil {
			return nil, nil, fmt.Errorf("provider.aws.vpc default: no default VPC in %s (set vpc: new): %w", s.AWS.Region, err)
		}
		subnets, err := ec2.GetSubnets(ctx, &ec2.GetSubnetsArgs{Filters: []ec2.GetSubnetsFilter{
			{Name: "vpc-id", Values: []string{vpc.Id}},
			{Name: "default-for-az", Values: []string{"true"}},
		}}, opt)
		if err != nil {
			return nil, nil, err
		}
		if len(subnets.Ids) == 0 {
			return nil, nil, fmt.Errorf("provider.aws.vpc default: the default VPC %s in %s has no default subnet (set vpc: new)", vpc.Id, s.AWS.Region)
		}
		return pulumi.String(vpc.Id), pulumi.String(minString(subnets.Ids)), nil
	}
	vpc, err := ec2.NewVpc(ctx, s.Lab, &ec2.VpcArgs{CidrBlock: pulumi.String("10.0.0.0/16"), EnableDnsHostnames: pulumi.Bool(true), Tags: tags("Name", "labctl-"+s.Lab)}, opt)
	if err != nil {
		return nil, nil, err
	}
	igw, err := ec2.NewInternetGateway(ctx, s.Lab, &ec2.InternetGatewayArgs{VpcId: vpc.ID(), Tags: tags()}, opt)
	if err != nil {
		return nil, nil, err
	}
	subnet, err := ec2.NewSubnet(ctx, s.Lab, &ec2.SubnetArgs{VpcId: vpc.ID(), CidrBlock: pulumi.String("10.0.0.0/20"), MapPublicIpOnLaunch: pulumi.Bool(true), Tags: tags()}, opt)
	if err != nil {
		return nil, nil, err
	}
	rt, err := ec2.NewRouteTable(ctx, s.Lab, &ec2.RouteTableArgs{VpcId: vpc.ID(), Routes: ec2.RouteTableRouteArray{
		ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), GatewayId: igw.ID()},
	}, Tags: tags()}, opt)
	if err != nil {
		return nil, nil, err
	}
	if _, err := ec2.NewRouteTableAssociation(ctx, s.Lab, &ec2.RouteTableAssociationArgs{SubnetId: subnet.ID(), RouteTableId: rt.ID()}, opt); err != nil {
		return nil, nil, err
	}
	return vpc.ID(), subnet.ID(), nil
}

func minString(xs []string) string {
	m := xs[0]
	for _, x := range xs[1:] {
		if x < m {
			m = x
		}
	}
	return m
}

// keyOnly strips the comment and newline of an OpenSSH public key.
func keyOnly(line string) string {
	f := regexp.MustCompile(`\s+`).Split(line, -1)
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return line
}
