package lab

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// PulumiTargets are where the pulumi provider can make nodes.
var PulumiTargets = []string{"aws", "local"}

// AWSRegions are the commercial AWS regions the aws target accepts: a typo
// is refused here rather than after a Pulumi engine started.
var AWSRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"ca-central-1", "ca-west-1", "sa-east-1", "mx-central-1",
	"eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
	"eu-north-1", "eu-south-1", "eu-south-2",
	"ap-south-1", "ap-south-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-7", "ap-east-1", "ap-east-2",
	"me-south-1", "me-central-1", "il-central-1", "af-south-1",
}

var (
	instanceTypeRE = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	stackRE        = regexp.MustCompile(`^[A-Za-z0-9_.\-/]{1,100}$`)
)

// backendSchemes are the Pulumi state backends by URL scheme.
var backendSchemes = []string{"file", "s3", "azblob", "gs", "https", "http"}

func (l *Lab) applyPulumiDefaults() {
	if l.Provider.Type != "pulumi" {
		return
	}
	p, a := &l.Provider.Pulumi, &l.Provider.AWS
	if p.Target == "" {
		p.Target = "aws"
	}
	if p.Target != "aws" {
		return
	}
	if a.Region == "" {
		a.Region = "us-east-1"
	}
	if a.InstanceType == "" {
		a.InstanceType = "t3.medium"
	}
	if a.DiskSize == 0 {
		a.DiskSize = 20
	}
	if a.VPC == "" {
		a.VPC = "default"
	}
	if len(a.AllowFrom) == 0 {
		a.AllowFrom = []string{"0.0.0.0/0"}
	}
	if a.Addresses == "" {
		a.Addresses = "elastic"
	}
}

// awsSet says whether any provider.aws field is set.
func (a AWSSpec) awsSet() bool {
	return a.Region != "" || a.InstanceType != "" || a.DiskSize != 0 || a.VPC != "" || len(a.AllowFrom) > 0 ||
		a.Addresses != "" || a.Prices.Set()
}

// validatePulumi checks provider.pulumi and provider.aws.
func (l *Lab) validatePulumi() error {
	p, a := l.Provider.Pulumi, l.Provider.AWS
	if l.Provider.Type != "pulumi" {
		if p != (PulumiSpec{}) {
			return fmt.Errorf("provider.pulumi: only the pulumi provider takes these settings")
		}
		if a.awsSet() {
			return fmt.Errorf("provider.aws: only the pulumi provider's aws target takes these settings")
		}
		return nil
	}
	if !slices.Contains(PulumiTargets, p.Target) {
		return fmt.Errorf("provider.pulumi.target: %q is not one of %s", p.Target, strings.Join(PulumiTargets, ", "))
	}
	if p.Backend != "" {
		u, err := url.Parse(p.Backend)
		if err != nil || !slices.Contains(backendSchemes, u.Scheme) {
			return fmt.Errorf("provider.pulumi.backend: %q is not a Pulumi backend URL (file://, s3://, azblob://, gs://, https://)", p.Backend)
		}
	}
	if p.Stack != "" && !stackRE.MatchString(p.Stack) {
		return fmt.Errorf("provider.pulumi.stack: %q is not a stack name", p.Stack)
	}
	if p.Target != "aws" {
		if a.awsSet() {
			return fmt.Errorf("provider.aws: set, but provider.pulumi.target is %s", p.Target)
		}
		return nil
	}
	if !slices.Contains(AWSRegions, a.Region) {
		return fmt.Errorf("provider.aws.region: %q is not an AWS region (e.g. us-east-1, eu-west-3)", a.Region)
	}
	if !instanceTypeRE.MatchString(a.InstanceType) {
		return fmt.Errorf("provider.aws.instanceType: %q is not an instance type like t3.medium", a.InstanceType)
	}
	if a.DiskSize < 8 || a.DiskSize > 1024 {
		return fmt.Errorf("provider.aws.diskSize: %d GiB is out of range (8 to 1024)", a.DiskSize)
	}
	if a.VPC != "default" && a.VPC != "new" {
		return fmt.Errorf("provider.aws.vpc: %q is not default or new", a.VPC)
	}
	for i, c := range a.AllowFrom {
		if _, _, err := net.ParseCIDR(c); err != nil {
			return fmt.Errorf("provider.aws.allowFrom[%d]: %q is not a CIDR", i, c)
		}
	}
	if a.Addresses != "elastic" && a.Addresses != "ephemeral" {
		return fmt.Errorf("provider.aws.addresses: %q is not elastic or ephemeral", a.Addresses)
	}
	return a.Prices.validate()
}

// MaxPrice bounds a price override (USD): more is a typo (cents as
// dollars, a monthly price as an hourly one), not a price.
const MaxPrice = 1000

func (p AWSPrices) validate() error {
	for _, f := range []struct {
		key string
		v   *float64
	}{
		{"instanceHour", p.InstanceHour}, {"gp3GBMonth", p.GP3GBMonth}, {"publicIPv4Hour", p.PublicIPv4Hour},
	} {
		if f.v == nil {
			continue
		}
		if v := *f.v; math.IsNaN(v) || v < 0 || v > MaxPrice {
			return fmt.Errorf("provider.aws.prices.%s: %v is not a price in USD (0 to %d)", f.key, v, MaxPrice)
		}
	}
	if p.Date != "" {
		if _, err := time.Parse(time.DateOnly, p.Date); err != nil {
			return fmt.Errorf("provider.aws.prices.date: %q is not a date like 2026-12-01", p.Date)
		}
	}
	return nil
}

// IsAWSRegion says whether r is one of AWSRegions.
func IsAWSRegion(r string) bool { return slices.Contains(AWSRegions, r) }

// CheckName refuses what cannot be a lab's name.
func CheckName(n string) error {
	if !nameRE.MatchString(n) {
		return fmt.Errorf("%q is not a lab name (lowercase letters, digits and dashes, at most 40)", n)
	}
	return nil
}
