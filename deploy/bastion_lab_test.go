package deploy_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/internal/lab"
)

// behindBastion puts every server of a's roles behind the lab's bastion.
func behindBastion(a deploy.App, b lab.Bastion) deploy.App {
	jump := deploy.Server{Host: b.Addr, KeyFiles: []string{b.KeyFile}, KnownHosts: b.KnownHosts}
	for name, r := range a.Roles {
		servers := make([]deploy.Server, len(r.Servers))
		for i, srv := range r.Servers {
			j := jump
			srv.Jump = &j
			servers[i] = srv
		}
		r.Servers = servers
		a.Roles[name] = r
	}
	return a
}

// bastionWatch samples, until stopped, how many connections this
// machine holds to the bastion, as the bastion's kernel counts them.
// Samples taken while connected is set (between Connect and Close) are
// kept apart from the others.
type bastionWatch struct {
	stop      chan struct{}
	done      chan struct{}
	connected atomic.Bool
	mu        sync.Mutex
	samples   []int // every sample
	during    []int // the samples taken while connected
	err       error
}

func watchBastion(b lab.Bastion) *bastionWatch {
	w := &bastionWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			connected := w.connected.Load()
			n, err := b.ClientConnections()
			w.mu.Lock()
			w.samples = append(w.samples, n)
			if connected && w.connected.Load() {
				w.during = append(w.during, n)
			}
			if err != nil && w.err == nil {
				w.err = err
			}
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// finish stops the sampling and returns the counts seen, in order: all
// of them, and those taken while connected.
func (w *bastionWatch) finish(t testing.TB) (all, during []int) {
	close(w.stop)
	<-w.done
	require.NoError(t, w.err)
	return w.samples, w.during
}

// Every host of the suite's lab but the fault hosts (11 of
// lab.SuiteHosts), more than the lab's bastion takes connections that
// have not logged in yet (lab.BastionMaxStartups, 10), deploys behind the bastion in one batch
// and rolls back: every host serves the new, then the old release, the
// bastion holds exactly one connection from this machine all along
// (counted on the bastion), and it refuses no start. Every host is
// dialled at once (Parallel as large as the fleet), so only the shared
// connection keeps the bastion under its MaxStartups. Thirty hosts are
// the fleet benchmark's bastion row (`mage benchFleet -jump=30`), which
// fails unless its deploys hold one connection too.
func TestAFleetBehindOneBastion(t *testing.T) {
	hosts := lab.SuiteHosts - len(lab.FaultHosts)
	l := lab.Require(t, lab.SuiteHosts)
	b := l.RequireBastion(t)
	const service = "fleetjump"
	fleet := l.Shared(t, hosts)
	lab.CleanupService(t, fleet, service)
	a := behindBastion(testApp(service, fleet), b)
	a.Boot = deploy.Boot{Limit: hosts} // one batch; the health barrier boots the primary alone first
	opts := deploy.Options{Output: new(syncBuffer), Performer: "tester", Parallel: hosts}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	refusedBefore, err := b.StartsRefused()
	require.NoError(t, err)
	run := func(what string, op func(s *deploy.Session) error) (all, during []int) {
		t.Helper()
		out := new(syncBuffer)
		o := opts
		o.Output = out
		w := watchBastion(b)
		s, err := deploy.Connect(ctx, a, o)
		if err == nil {
			w.connected.Store(true)
			err = op(s)
			forwarded, ferr := b.ForwardedConnections()
			require.NoError(t, ferr)
			assert.GreaterOrEqual(t, forwarded, hosts, "%s: every host's connection comes out of the bastion", what)
			w.connected.Store(false)
			s.Close()
		}
		all, during = w.finish(t)
		require.NoError(t, err, "%s through the bastion:\n%s", what, out)
		for _, word := range []string{"reset", "MaxStartups", "closed the connection"} {
			assert.NotContains(t, strings.ToLower(out.String()), strings.ToLower(word), "%s: no host's connection was refused", what)
		}
		return all, during
	}

	run("first deploy (v1)", func(s *deploy.Session) error {
		_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
		return err
	})
	requireEveryHostServes(t, fleet, service+".test", "v1")

	all, during := run("deploy of v2", func(s *deploy.Session) error {
		_, err := s.Deploy(ctx, deploy.Release{Version: "v2"})
		return err
	})
	requireEveryHostServes(t, fleet, service+".test", "v2")
	assertOneConnection(t, "deploy of v2", all, during)

	all, during = run("rollback to v1", func(s *deploy.Session) error {
		_, err := s.Rollback(ctx, "v1")
		return err
	})
	requireEveryHostServes(t, fleet, service+".test", "v1")
	assertOneConnection(t, "rollback to v1", all, during)

	refused, err := b.StartsRefused()
	require.NoError(t, err)
	assert.Equal(t, refusedBefore, refused, "the bastion dropped no connection past MaxStartups")
}

// assertOneConnection checks the bastion's connection counts sampled
// around a session: never more than one, and exactly one in every sample
// taken between Connect and Close.
func assertOneConnection(t *testing.T, what string, all, during []int) {
	t.Helper()
	assert.LessOrEqual(t, slices.Max(all), 1, "%s: connections to the bastion, sampled every 20 ms: %v", what, all)
	require.NotEmpty(t, during, "%s: sampled while connected", what)
	for _, n := range during {
		assert.Equal(t, 1, n, "%s: one connection to the bastion while connected (samples %v)", what, during)
	}
}
