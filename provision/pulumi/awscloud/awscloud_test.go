package awscloud

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	lp "github.com/labctl/labctl/provision/pulumi"
)

// fakeEC2 answers the EC2 query API (form-encoded actions, XML answers)
// the way the AWS documentation shows it, for the few actions the sweep
// uses: the SDK's real client talks to it.
type fakeEC2 struct {
	mu      sync.Mutex
	actions []string // "Action id"
	gone    map[string]bool
	// refuse answers DependencyViolation this many times per id.
	refuse map[string]int
}

const ns = `xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"`

func tags(lab, end string) string {
	return fmt.Sprintf(`<tagSet><item><key>labctl:lab</key><value>%s</value></item><item><key>labctl:endsAt</key><value>%s</value></item>`+
		`<item><key>labctl:attendee</key><value>2</value></item><item><key>Name</key><value>%s-02-node1</value></item></tagSet>`, lab, end, lab)
}

func (f *fakeEC2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	action := r.Form.Get("Action")
	f.mu.Lock()
	defer f.mu.Unlock()
	id := firstID(r.Form)
	f.actions = append(f.actions, strings.TrimSpace(action+" "+id))
	answer := func(body string) {
		fmt.Fprintf(w, `<%sResponse %s><requestId>r</requestId>%s</%sResponse>`, action, ns, body, action)
	}
	fail := func(code string) {
		w.WriteHeader(400)
		fmt.Fprintf(w, `<Response><Errors><Error><Code>%s</Code><Message>no</Message></Error></Errors><RequestID>r</RequestID></Response>`, code)
	}
	if strings.HasPrefix(action, "Describe") && id == "" && r.Form.Get("Filter.1.Name") != "tag-key" {
		fail("MissingFilter")
		return
	}
	switch action {
	case "DescribeInstances":
		state := `<code>16</code><name>running</name>`
		if id != "" || f.gone["i-1"] {
			state = `<code>48</code><name>terminated</name>`
		}
		answer(`<reservationSet><item><instancesSet><item><instanceId>i-1</instanceId><instanceState>` + state + `</instanceState>` +
			tags("class", "2026-12-11T17:00:00Z") + `</item></instancesSet></item></reservationSet>`)
	case "DescribeAddresses":
		answer(`<addressesSet><item><allocationId>eipalloc-1</allocationId><associationId>eipassoc-1</associationId>` + tags("class", "none") + `</item></addressesSet>`)
	case "DescribeVolumes":
		answer(`<volumeSet><item><volumeId>vol-1</volumeId>` + tags("class", "none") + `</item></volumeSet>`)
	case "DescribeKeyPairs":
		answer(`<keySet><item><keyName>labctl-class</keyName><keyPairId>key-1</keyPairId>` + tags("class", "none") + `</item></keySet>`)
	case "DescribeSecurityGroups":
		answer(`<securityGroupInfo><item><groupId>sg-1</groupId>` + tags("class", "none") + `</item></securityGroupInfo>`)
	case "DescribeRouteTables":
		answer(`<routeTableSet><item><routeTableId>rtb-1</routeTableId><associationSet><item><routeTableAssociationId>rtbassoc-1</routeTableAssociationId><main>false</main></item>` +
			`<item><routeTableAssociationId>rtbassoc-main</routeTableAssociationId><main>true</main></item></associationSet>` + tags("class", "none") + `</item></routeTableSet>`)
	case "DescribeSubnets":
		answer(`<subnetSet><item><subnetId>subnet-1</subnetId>` + tags("class", "none") + `</item></subnetSet>`)
	case "DescribeInternetGateways":
		answer(`<internetGatewaySet><item><internetGatewayId>igw-1</internetGatewayId><attachmentSet><item><vpcId>vpc-1</vpcId><state>available</state></item></attachmentSet>` +
			tags("class", "none") + `</item></internetGatewaySet>`)
	case "DescribeVpcs":
		answer(`<vpcSet><item><vpcId>vpc-1</vpcId>` + tags("class", "none") + `</item></vpcSet>`)
	case "TerminateInstances":
		f.gone["i-1"] = true
		answer(`<instancesSet/>`)
	case "DeleteVolume":
		fail("InvalidVolume.NotFound") // went with its instance
	default:
		if f.refuse[id] > 0 {
			f.refuse[id]--
			fail("DependencyViolation")
			return
		}
		answer(`<return>true</return>`)
	}
}

// firstID is the handle an action names (InstanceId.1, VolumeId, ...).
func firstID(form url.Values) string {
	for _, k := range []string{"InstanceId.1", "AllocationId", "AllocationId.1", "AssociationId", "VolumeId", "KeyName", "GroupId",
		"RouteTableId", "RouteTableId.1", "SubnetId", "InternetGatewayId", "InternetGatewayId.1", "VpcId"} {
		if v := form.Get(k); v != "" {
			return v
		}
	}
	return ""
}

func fakeCloud(t *testing.T, f *fakeEC2) (*Cloud, *bytes.Buffer) {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	c := &Cloud{Out: &out, Retry: time.Millisecond, Wait: 5 * time.Second,
		Client: func(_ context.Context, region string) (API, error) {
			return ec2.New(ec2.Options{Region: region, BaseEndpoint: aws.String(srv.URL),
				Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}), nil
		}}
	return c, &out
}

// The inventory asks every kind by the labctl:lab tag key and reads the
// tags back.
func TestInventory(t *testing.T) {
	f := &fakeEC2{gone: map[string]bool{}}
	c, _ := fakeCloud(t, f)
	rs, err := c.Inventory(t.Context(), []string{"eu-west-3"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Kind+" "+r.ID)
		if r.Region != "eu-west-3" || r.Lab != "class" || r.Attendee != "2" || r.Name != "class-02-node1" {
			t.Errorf("%+v", r)
		}
	}
	want := []string{"instance i-1", "elastic-ip eipalloc-1", "volume vol-1", "key-pair labctl-class", "security-group sg-1",
		"route-table rtb-1", "subnet subnet-1", "internet-gateway igw-1", "vpc vpc-1"}
	if !slices.Equal(got, want) {
		t.Errorf("inventory %v, want %v", got, want)
	}
	if rs[0].State != "running" || rs[0].EndsAt != "2026-12-11T17:00:00Z" {
		t.Errorf("instance: %+v", rs[0])
	}
}

// Delete goes in an order AWS accepts: instances terminated and waited
// for, the address let go and released, what a volume already lost
// counted as deleted, a security group retried while AWS says its network
// interface still holds it, the route table's association undone (not
// the main one), the gateway detached, the VPC last.
func TestDelete(t *testing.T) {
	f := &fakeEC2{gone: map[string]bool{}, refuse: map[string]int{"sg-1": 2}}
	c, out := fakeCloud(t, f)
	rs, err := c.Inventory(t.Context(), []string{"eu-west-3"})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(rs)
	f.actions = nil
	if err := c.Delete(t.Context(), rs); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := []string{
		"TerminateInstances i-1", "DescribeInstances i-1",
		"DescribeAddresses eipalloc-1", "DisassociateAddress eipassoc-1", "ReleaseAddress eipalloc-1",
		"DeleteVolume vol-1", "DeleteKeyPair labctl-class",
		"DeleteSecurityGroup sg-1", "DeleteSecurityGroup sg-1", "DeleteSecurityGroup sg-1",
		"DescribeRouteTables rtb-1", "DisassociateRouteTable rtbassoc-1", "DeleteRouteTable rtb-1",
		"DeleteSubnet subnet-1",
		"DescribeInternetGateways igw-1", "DetachInternetGateway igw-1", "DeleteInternetGateway igw-1",
		"DeleteVpc vpc-1",
	}
	if !slices.Equal(f.actions, want) {
		t.Errorf("actions:\n%s\nwant:\n%s", strings.Join(f.actions, "\n"), strings.Join(want, "\n"))
	}
	if n := strings.Count(out.String(), "    deleted eu-west-3 "); n != 9 {
		t.Errorf("%d deleted lines:\n%s", n, out)
	}
	var _ lp.Cloud = c
}
