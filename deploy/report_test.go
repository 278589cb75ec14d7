package deploy_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
)

// thirtyHosts is 10.250.1.2 … 10.250.30.2, the lab's addresses: h1's
// address is a prefix of h10's to h19's, the case a careless
// replacement of a host's name gets wrong.
func thirtyHosts() []string {
	var hosts []string
	for i := 1; i <= 30; i++ {
		hosts = append(hosts, fmt.Sprintf("10.250.%d.2", i))
	}
	return hosts
}

func TestHostsError(t *testing.T) {
	t.Run("groups thirty hosts by reason, in host order, each host's own name read as <host>", func(t *testing.T) {
		hosts := thirtyHosts()
		he := &deploy.HostsError{Hosts: len(hosts)}
		for i, h := range hosts {
			var err error
			switch {
			case i == 2 || i == 6: // h3 and h7 fail their gate the same way
				err = fmt.Errorf("gate: %w", &deploy.BootError{Container: "out-web-v2", Err: fmt.Errorf("/up answered 500\n  last lines:\n  09:47:5%d UP_FAIL is on", i)})
			case i == 11: // h12 alone
				err = errors.New("ensure-image: image out:v2 is not on " + h + ": build or load it there first")
			case i >= 20: // h21 … h30 cannot be reached
				err = fmt.Errorf("connect to root@%s:22: dial tcp %s:22: connect: connection refused", h, h)
			default:
				continue
			}
			he.Errs = append(he.Errs, &deploy.HostError{Host: h, Err: err})
		}
		golden(t, "hosts_error_30", he.Error())

		groups := he.Groups()
		require.Len(t, groups, 3)
		assert.Equal(t, []string{"10.250.3.2", "10.250.7.2"}, groups[0].Hosts, "the first reason to fail a host comes first")
		assert.Equal(t, []string{"10.250.12.2"}, groups[1].Hosts)
		assert.Equal(t, "ensure-image: image out:v2 is not on 10.250.12.2: build or load it there first", groups[1].Reason, "a host alone keeps its name in its reason")
		assert.Len(t, groups[2].Hosts, 10)
		assert.Equal(t, "connect to root@<host>:22: dial tcp <host>:22: connect: connection refused", groups[2].Reason)
	})

	t.Run("hosts whose first lines agree are one group; the lines after it are the first host's when they vary", func(t *testing.T) {
		he := &deploy.HostsError{Hosts: 4, Errs: []*deploy.HostError{
			{Host: "h1", Err: errors.New("gate: h1 did not become healthy\n  09:47:51 /up failing")},
			{Host: "h2", Err: errors.New("gate: h2 did not become healthy\n  09:47:52 /up failing")},
			{Host: "h3", Err: errors.New("migrate: exited 2\n  no such table")},
			{Host: "h4", Err: errors.New("migrate: exited 2\n  no such table")},
		}}
		groups := he.Groups()
		require.Len(t, groups, 2)
		assert.True(t, groups[0].Varies)
		assert.Equal(t, "gate: <host> did not become healthy\n  09:47:51 /up failing", groups[0].Reason)
		assert.False(t, groups[1].Varies)
		assert.Equal(t, "4 of 4 hosts failed:\n"+
			"  h1, h2: gate: <host> did not become healthy\n"+
			"    as on h1:\n"+
			"        09:47:51 /up failing\n"+
			"  h3, h4: migrate: exited 2\n"+
			"      no such table", he.Error())
	})

	t.Run("still matches the sentinels and types of each host's error", func(t *testing.T) {
		gate := &deploy.HostError{Host: "h2", Err: fmt.Errorf("gate: %w", &deploy.BootError{Container: "c", Err: errors.New("500")})}
		locked := &deploy.HostError{Host: "h3", Err: fmt.Errorf("lock: %w", deploy.ErrLocked)}
		err := fmt.Errorf("batch 1 of 1: %w", &deploy.HostsError{Hosts: 3, Errs: []*deploy.HostError{gate, locked}})
		assert.ErrorIs(t, err, deploy.ErrGateFailed)
		assert.ErrorIs(t, err, deploy.ErrLocked)
		assert.NotErrorIs(t, err, deploy.ErrTimeout)
		var be *deploy.BootError
		require.ErrorAs(t, err, &be)
		assert.Equal(t, "c", be.Container)
		var first *deploy.HostError
		require.ErrorAs(t, err, &first)
		assert.Equal(t, "h2", first.Host, "the first failed host in host order")
	})

	t.Run("one failed host reads as that host's error", func(t *testing.T) {
		he := &deploy.HostsError{Hosts: 6, Errs: []*deploy.HostError{{Host: "h4", Err: errors.New("observe: engine gone")}}}
		assert.Equal(t, "h4: observe: engine gone", he.Error())
	})

	t.Run("a host's name is replaced only where it is the whole name", func(t *testing.T) {
		he := &deploy.HostsError{Hosts: 3, Errs: []*deploy.HostError{
			{Host: "h1", Err: errors.New("h12 refused h1.")},
			{Host: "h2", Err: errors.New("h12 refused h2.")},
			{Host: "h1.lab", Err: errors.New("h12 refused h1.lab.")},
		}}
		groups := he.Groups()
		require.Len(t, groups, 1, "h12 is not h1, and a full stop ends a name")
		assert.Equal(t, []string{"h1", "h2", "h1.lab"}, groups[0].Hosts)
		assert.Equal(t, "h12 refused <host>.", groups[0].Reason)
	})

	t.Run("reasons that differ beyond the host stay apart", func(t *testing.T) {
		he := &deploy.HostsError{Hosts: 2, Errs: []*deploy.HostError{
			{Host: "h1", Err: errors.New("disk full on h1")},
			{Host: "h2", Err: errors.New("disk nearly full on h2")},
		}}
		assert.Equal(t, "2 of 2 hosts failed:\n  h1: disk full on h1\n  h2: disk nearly full on h2", he.Error())
	})
}
