// Package awscloud is labctl sweep's view of AWS: every EC2 resource
// tagged labctl:lab in some regions, and their deletion in an order AWS
// accepts. labctl-pulumi serves it (provision/pulumi.HelperCloud); labctl
// itself never links the AWS SDK.
//
// It has never run against AWS: its tests drive the SDK against a fake
// EC2 endpoint (awscloud_test.go).
package awscloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	lp "github.com/labctl/labctl/provision/pulumi"
	"github.com/labctl/labctl/provision/pulumi/program"
)

// API is what the sweep asks of EC2 (an *ec2.Client).
type API interface {
	ec2.DescribeInstancesAPIClient
	ec2.DescribeVolumesAPIClient
	ec2.DescribeSecurityGroupsAPIClient
	ec2.DescribeSubnetsAPIClient
	ec2.DescribeRouteTablesAPIClient
	ec2.DescribeInternetGatewaysAPIClient
	ec2.DescribeVpcsAPIClient
	DescribeAddresses(context.Context, *ec2.DescribeAddressesInput, ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error)
	DescribeKeyPairs(context.Context, *ec2.DescribeKeyPairsInput, ...func(*ec2.Options)) (*ec2.DescribeKeyPairsOutput, error)
	TerminateInstances(context.Context, *ec2.TerminateInstancesInput, ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
	DisassociateAddress(context.Context, *ec2.DisassociateAddressInput, ...func(*ec2.Options)) (*ec2.DisassociateAddressOutput, error)
	ReleaseAddress(context.Context, *ec2.ReleaseAddressInput, ...func(*ec2.Options)) (*ec2.ReleaseAddressOutput, error)
	DeleteVolume(context.Context, *ec2.DeleteVolumeInput, ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error)
	DeleteKeyPair(context.Context, *ec2.DeleteKeyPairInput, ...func(*ec2.Options)) (*ec2.DeleteKeyPairOutput, error)
	DeleteSecurityGroup(context.Context, *ec2.DeleteSecurityGroupInput, ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error)
	DisassociateRouteTable(context.Context, *ec2.DisassociateRouteTableInput, ...func(*ec2.Options)) (*ec2.DisassociateRouteTableOutput, error)
	DeleteRouteTable(context.Context, *ec2.DeleteRouteTableInput, ...func(*ec2.Options)) (*ec2.DeleteRouteTableOutput, error)
	DeleteSubnet(context.Context, *ec2.DeleteSubnetInput, ...func(*ec2.Options)) (*ec2.DeleteSubnetOutput, error)
	DetachInternetGateway(context.Context, *ec2.DetachInternetGatewayInput, ...func(*ec2.Options)) (*ec2.DetachInternetGatewayOutput, error)
	DeleteInternetGateway(context.Context, *ec2.DeleteInternetGatewayInput, ...func(*ec2.Options)) (*ec2.DeleteInternetGatewayOutput, error)
	DeleteVpc(context.Context, *ec2.DeleteVpcInput, ...func(*ec2.Options)) (*ec2.DeleteVpcOutput, error)
}

// Cloud is lp.Cloud on AWS.
type Cloud struct {
	// Client is the EC2 API of a region (default: the AWS SDK's, with
	// its usual credentials).
	Client func(ctx context.Context, region string) (API, error)
	Out    io.Writer
	// Wait bounds the wait for terminated instances (default 10 min),
	// Retry the pause between attempts at what AWS refuses while an
	// instance's network interface goes away (default 10 s).
	Wait, Retry time.Duration
}

// New is the AWS SDK's EC2 client per region.
func New(out io.Writer) *Cloud {
	return &Cloud{Out: out, Client: func(ctx context.Context, region string) (API, error) {
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
		if err != nil {
			return nil, err
		}
		return ec2.NewFromConfig(cfg), nil
	}}
}

var tagged = []types.Filter{{Name: aws.String("tag-key"), Values: []string{program.TagLab}}}

// Inventory lists the resources tagged labctl:lab in the regions.
func (c *Cloud) Inventory(ctx context.Context, regions []string) ([]lp.CloudResource, error) {
	var out []lp.CloudResource
	for _, region := range regions {
		api, err := c.Client(ctx, region)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", region, err)
		}
		rs, err := inventory(ctx, api, region)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", region, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

func inventory(ctx context.Context, api API, region string) ([]lp.CloudResource, error) {
	var out []lp.CloudResource
	add := func(kind, id string, tags []types.Tag, state string) {
		r := lp.CloudResource{Region: region, Kind: kind, ID: id, State: state}
		for _, t := range tags {
			switch aws.ToString(t.Key) {
			case program.TagLab:
				r.Lab = aws.ToString(t.Value)
			case program.TagEndsAt:
				r.EndsAt = aws.ToString(t.Value)
			case program.TagAttendee:
				r.Attendee = aws.ToString(t.Value)
			case "Name":
				r.Name = aws.ToString(t.Value)
			}
		}
		out = append(out, r)
	}
	for p := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{Filters: tagged}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeInstances: %w", err)
		}
		for _, res := range page.Reservations {
			for _, i := range res.Instances {
				state := ""
				if i.State != nil {
					state = string(i.State.Name)
				}
				add(lp.KindInstance, aws.ToString(i.InstanceId), i.Tags, state)
			}
		}
	}
	addrs, err := api.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: tagged})
	if err != nil {
		return nil, fmt.Errorf("DescribeAddresses: %w", err)
	}
	for _, a := range addrs.Addresses {
		add(lp.KindElasticIP, aws.ToString(a.AllocationId), a.Tags, "")
	}
	for p := ec2.NewDescribeVolumesPaginator(api, &ec2.DescribeVolumesInput{Filters: tagged}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeVolumes: %w", err)
		}
		for _, v := range page.Volumes {
			add(lp.KindVolume, aws.ToString(v.VolumeId), v.Tags, "")
		}
	}
	keys, err := api.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: tagged})
	if err != nil {
		return nil, fmt.Errorf("DescribeKeyPairs: %w", err)
	}
	for _, k := range keys.KeyPairs {
		add(lp.KindKeyPair, aws.ToString(k.KeyName), k.Tags, "") // Pulumi's ID is the name
	}
	for p := ec2.NewDescribeSecurityGroupsPaginator(api, &ec2.DescribeSecurityGroupsInput{Filters: tagged}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeSecurityGroups: %w", err)
		}
		for _, g := range page.SecurityGroups {
			add(lp.KindSecurityGroup, aws.ToString(g.GroupId), g.Tags, "")
		}
	}
	for p := ec2.NewDescribeRouteTablesPaginator(api, &ec2.DescribeRouteTablesInput{Filters: tagged}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeRouteTables: %w", err)
		}
		for _, t := range page.RouteTables {
			add(lp.KindRouteTable, aws.ToString(t.RouteTableId), t.Tags, "")
		}
	}
	for p := ec2.NewDescribeSubnetsPaginator(api, &ec2.DescribeSubnetsInput{Filters: tagged}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeSubnets: %w", err)
		}
		for _, s := range page.Subnets {
			add(lp.KindSubnet, aws.ToString(s.SubnetId), s.Tags, "")
		}
	}
	for p := ec2.NewDescribeInternetGatewaysPaginator(api, &ec2.DescribeInternetGatewaysInput{Filters: tagged}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeInternetGateways: %w", err)
		}
		for _, g := range page.InternetGateways {
			add(lp.KindInternetGateway, aws.ToString(g.InternetGatewayId), g.Tags, "")
		}
	}
	for p := ec2.NewDescribeVpcsPaginator(api, &ec2.DescribeVpcsInput{Filters: tagged}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeVpcs: %w", err)
		}
		for _, v := range page.Vpcs {
			add(lp.KindVPC, aws.ToString(v.VpcId), v.Tags, "")
		}
	}
	return out, nil
}

// Delete deletes the resources region by region in SortForDelete's
// order: instances terminated (and waited for), then what they used, the
// network last. A resource already gone counts as deleted; one AWS
// refuses is named, and the others go on.
func (c *Cloud) Delete(ctx context.Context, rs []lp.CloudResource) error {
	rs = append([]lp.CloudResource(nil), rs...)
	lp.SortForDelete(rs)
	var regions []string
	by := map[string][]lp.CloudResource{}
	for _, r := range rs {
		if _, ok := by[r.Region]; !ok {
			regions = append(regions, r.Region)
		}
		by[r.Region] = append(by[r.Region], r)
	}
	var errs []error
	for _, region := range regions {
		api, err := c.Client(ctx, region)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", region, err))
			continue
		}
		errs = append(errs, c.deleteRegion(ctx, api, region, by[region])...)
	}
	return errors.Join(errs...)
}

func (c *Cloud) deleteRegion(ctx context.Context, api API, region string, rs []lp.CloudResource) []error {
	var errs []error
	fail := func(r lp.CloudResource, err error) {
		if err != nil && !notFound(err) {
			errs = append(errs, fmt.Errorf("%s %s %s: %w", region, r.Kind, r.ID, err))
			return
		}
		c.logf("    deleted %s %s %s (lab %s)\n", region, r.Kind, r.ID, r.Lab)
	}
	var instances []string
	for _, r := range rs {
		if r.Kind == lp.KindInstance {
			instances = append(instances, r.ID)
		}
	}
	if len(instances) > 0 {
		c.logf("    terminating %d instances in %s: %s\n", len(instances), region, strings.Join(instances, " "))
		if _, err := api.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: instances}); err != nil && !notFound(err) {
			return append(errs, fmt.Errorf("%s TerminateInstances: %w", region, err))
		}
		wait := c.Wait
		if wait <= 0 {
			wait = 10 * time.Minute
		}
		w := ec2.NewInstanceTerminatedWaiter(api, func(o *ec2.InstanceTerminatedWaiterOptions) {
			if c.Retry > 0 {
				o.MinDelay, o.MaxDelay = c.Retry, c.Retry
			}
		})
		if err := w.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: instances}, wait); err != nil {
			return append(errs, fmt.Errorf("%s: instances not terminated: %w", region, err))
		}
		for _, r := range rs {
			if r.Kind == lp.KindInstance {
				fail(r, nil)
			}
		}
	}
	for _, r := range rs {
		var err error
		switch r.Kind {
		case lp.KindInstance:
			continue
		case lp.KindElasticIP:
			err = c.releaseAddress(ctx, api, r.ID)
		case lp.KindVolume:
			_, err = api.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(r.ID)})
		case lp.KindKeyPair:
			_, err = api.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String(r.ID)})
		case lp.KindSecurityGroup:
			// A terminated instance's network interface lets go of its
			// group a little after the instance is gone.
			err = c.retry(ctx, func() error {
				_, err := api.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(r.ID)})
				return err
			})
		case lp.KindRouteTable:
			err = c.deleteRouteTable(ctx, api, r.ID)
		case lp.KindSubnet:
			err = c.retry(ctx, func() error {
				_, err := api.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(r.ID)})
				return err
			})
		case lp.KindInternetGateway:
			err = c.deleteInternetGateway(ctx, api, r.ID)
		case lp.KindVPC:
			err = c.retry(ctx, func() error {
				_, err := api.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(r.ID)})
				return err
			})
		default:
			err = fmt.Errorf("labctl does not delete a %s", r.Kind)
		}
		fail(r, err)
	}
	return errs
}

func (c *Cloud) releaseAddress(ctx context.Context, api API, id string) error {
	out, err := api.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{id}})
	if err != nil {
		return err
	}
	for _, a := range out.Addresses {
		if a.AssociationId != nil {
			if _, err := api.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{AssociationId: a.AssociationId}); err != nil && !notFound(err) {
				return err
			}
		}
	}
	_, err = api.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(id)})
	return err
}

func (c *Cloud) deleteRouteTable(ctx context.Context, api API, id string) error {
	out, err := api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{id}})
	if err != nil {
		return err
	}
	for _, t := range out.RouteTables {
		for _, a := range t.Associations {
			if aws.ToBool(a.Main) || a.RouteTableAssociationId == nil {
				continue
			}
			if _, err := api.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId}); err != nil && !notFound(err) {
				return err
			}
		}
	}
	_, err = api.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: aws.String(id)})
	return err
}

func (c *Cloud) deleteInternetGateway(ctx context.Context, api API, id string) error {
	out, err := api.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{id}})
	if err != nil {
		return err
	}
	for _, g := range out.InternetGateways {
		for _, a := range g.Attachments {
			err := c.retry(ctx, func() error {
				_, err := api.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(id), VpcId: a.VpcId})
				return err
			})
			if err != nil && !notFound(err) {
				return err
			}
		}
	}
	_, err = api.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: aws.String(id)})
	return err
}

// retry tries f again while AWS answers DependencyViolation (what an
// instance's network interface still holds), up to 12 times.
func (c *Cloud) retry(ctx context.Context, f func() error) error {
	pause := c.Retry
	if pause <= 0 {
		pause = 10 * time.Second
	}
	var err error
	for range 12 {
		if err = f(); err == nil || code(err) != "DependencyViolation" {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	return err
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// notFound: already gone (InvalidInstanceID.NotFound, InvalidVolume.NotFound...).
func notFound(err error) bool {
	c := code(err)
	return strings.HasSuffix(c, ".NotFound") || strings.HasSuffix(c, "NotFound")
}

func (c *Cloud) logf(format string, a ...any) {
	if c.Out != nil {
		fmt.Fprintf(c.Out, format, a...)
	}
}
