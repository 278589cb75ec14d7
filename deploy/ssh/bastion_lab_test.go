package ssh_test

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/internal/lab"
)

// dialAll dials every host at once with dial and returns each one's
// error; the clients are closed when the test ends.
func dialAll(t *testing.T, hosts []lab.Host, dial func(h lab.Host) (*ssh.Client, error)) []error {
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(h)
			errs[i] = err
			if c != nil {
				mu.Lock()
				t.Cleanup(func() { c.Close() })
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// thirtyDials is thirty SSH dials to the hosts any test may use (the
// suite's lab, but its fault hosts), a host dialled more than once when
// there are fewer: what the bastion sees is thirty connections starting
// at once, as for thirty hosts.
const thirtyDials = 30

func dialTargets(t *testing.T, l *lab.Lab) []lab.Host {
	shared := l.Shared(t, lab.SuiteHosts-len(lab.FaultHosts))
	targets := make([]lab.Host, thirtyDials)
	for i := range targets {
		targets[i] = shared[i%len(shared)]
	}
	return targets
}

// The negative control of TestAFleetBehindOneBastion (package deploy)
// and of the fleet benchmark's bastion row: thirty dials each with a
// bastion connection of its own, all at once, as an SSH client without a
// shared jump connection does (OpenSSH's ProxyJump, net-ssh's Jump
// proxy), start thirty connections on the bastion at once, and its sshd,
// past MaxStartups 10, drops some; through one Bastions the same thirty
// dials start one and none is dropped.
func TestBastionMaxStartupsDropsSeparateDials(t *testing.T) {
	const hosts = thirtyDials
	l := lab.Require(t, lab.SuiteHosts)
	b := l.RequireBastion(t)
	targets := dialTargets(t, l)
	ctx := ctxFor(t, 2*time.Minute)

	before, err := b.StartsRefused()
	require.NoError(t, err)
	errs := dialAll(t, targets, func(h lab.Host) (*ssh.Client, error) { return ssh.Dial(ctx, b.Behind(h)) })
	dropped := 0
	for _, err := range errs {
		if err != nil {
			dropped++
			assert.ErrorContains(t, err, "through jump host: connect to root@"+b.Addr+":22")
			assert.ErrorContains(t, err, "MaxStartups", "the error says why the bastion closed the connection")
		}
	}
	after, err := b.StartsRefused()
	require.NoError(t, err)
	t.Logf("%d separate dials through the bastion at once: %d dropped past MaxStartups %d (bastion's log: %d)", hosts, dropped, lab.BastionMaxStartups, after-before)
	assert.Positive(t, dropped, "separate dials past MaxStartups are dropped")
	assert.Equal(t, dropped, after-before, "each failed dial is one start the bastion dropped")

	var shared ssh.Bastions
	t.Cleanup(func() { shared.Close() })
	before = after
	errs = dialAll(t, targets, func(h lab.Host) (*ssh.Client, error) { return shared.Dial(ctx, b.Behind(h)) })
	for i, err := range errs {
		assert.NoError(t, err, "%s through the shared bastion connection", targets[i].Name)
	}
	after, err = b.StartsRefused()
	require.NoError(t, err)
	assert.Equal(t, before, after, "the shared connection starts one connection, which the bastion takes")
	assert.Equal(t, 1, shared.Open())
}

// A bastion that takes no more starts (every MaxStartups slot held by
// connections that have not logged in) refuses the one dial thirty
// dials share: one start dropped, not thirty, and each dial's error
// names its host and the bastion and says why.
func TestBastionsRefusedOnceForEveryHost(t *testing.T) {
	const hosts = thirtyDials
	l := lab.Require(t, lab.SuiteHosts)
	b := l.RequireBastion(t)
	targets := dialTargets(t, l)
	ctx := ctxFor(t, time.Minute)

	// Take every slot: TCP connections to the bastion's sshd that send
	// nothing count as starts until its LoginGraceTime (2 minutes).
	addr := net.JoinHostPort(b.Addr, strconv.Itoa(b.Port))
	for range lab.BastionMaxStartups {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		banner := make([]byte, 4)
		_, err = c.Read(banner) // sshd has taken it: it sent its banner
		require.NoError(t, err)
		require.Equal(t, "SSH-", string(banner))
	}

	before, err := b.StartsRefused()
	require.NoError(t, err)
	var shared ssh.Bastions
	t.Cleanup(func() { shared.Close() })
	errs := dialAll(t, targets, func(h lab.Host) (*ssh.Client, error) { return shared.Dial(ctx, b.Behind(h)) })
	for i, err := range errs {
		require.Error(t, err, "%s: the bastion has no start left", targets[i].Name)
		assert.ErrorContains(t, err, "connect to root@"+targets[i].Addr+":22 through jump host: connect to root@"+b.Addr+":22")
		assert.ErrorContains(t, err, "MaxStartups")
		assert.Equal(t, errs[0].Error()[strings.Index(errs[0].Error(), "through"):], err.Error()[strings.Index(err.Error(), "through"):],
			"the hosts share the bastion's one refusal")
	}
	after, err := b.StartsRefused()
	require.NoError(t, err)
	assert.Equal(t, 1, after-before, "one start for %d hosts reached the bastion", hosts)
	assert.Equal(t, 0, shared.Open())
	t.Logf("refused: %v", errs[0])
}
