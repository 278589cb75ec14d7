package deploy_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
)

// faultApp is a web app of the lab's test image on the named fault
// hosts (lab.FaultHosts), with a service name of its own. Every test
// that disrupts a host uses these hosts only, and restores them when it
// ends (the lab helpers register that first), before the service is
// cleaned up.
func faultApp(t *testing.T, names ...string) (deploy.App, []lab.Host) {
	l := lab.Require(t, 8)
	service := fmt.Sprintf("faults%d", rand.Uint32()%1_000_000)
	var hosts []lab.Host
	for _, n := range names {
		hosts = append(hosts, l.FaultHost(t, n))
	}
	a := testApp(service, hosts)
	a.Roles["web"].Proxy.DeployTimeout = 5 * time.Second
	a.Roles["web"].Proxy.DrainTimeout = time.Second
	lab.CleanupService(t, hosts, service)
	return a, hosts
}

// faultOptions are timeouts small enough for short tests: a hung call
// fails after 3 s, a silent link after about 2 s (two missed 1 s
// keepalives), and the cleanup keeps dialling a lost host for 30 s.
func faultOptions(out io.Writer) deploy.Options {
	return deploy.Options{Output: out, Performer: "faults-tester", CallTimeout: 3 * time.Second,
		KeepAliveInterval: time.Second, ConnectTimeout: 2 * time.Second, ReconnectWindow: 30 * time.Second}
}

func connectWith(t *testing.T, a deploy.App, opts deploy.Options) *deploy.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := deploy.Connect(ctx, a, opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// serving returns the version kamal-proxy on host serves for a, or the
// error a client would see.
func serving(a deploy.App, host string) (string, error) {
	req, _ := http.NewRequest("GET", "http://"+host+"/", nil)
	req.Host = a.Service + ".test"
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return strings.TrimSpace(string(body)), nil
}

func requireServing(t *testing.T, a deploy.App, host string, versions ...string) string {
	t.Helper()
	v, err := serving(a, host)
	require.NoError(t, err, "%s serves a release", host)
	require.Contains(t, versions, v, "%s serves one of %v", host, versions)
	return v
}

// containers lists the app's containers on the host's engine, by name,
// with whether each runs.
func containers(t *testing.T, h lab.Host, a deploy.App) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := h.Engine(t).List(ctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelService: a.Service}})
	require.NoError(t, err)
	out := map[string]bool{}
	for _, c := range cs {
		out[c.Name] = c.Running()
	}
	return out
}

// pauseAt returns a step hook that, the first time a step of kind starts
// on host, hands control to the test goroutine (which disrupts the host)
// and waits for it; the channel it returns delivers those moments.
func pauseAt(kind deploy.StepKind, host string) (func(deploy.Step), <-chan chan struct{}) {
	reached := make(chan chan struct{}, 1)
	var once sync.Once
	return func(st deploy.Step) {
		if st.Kind != kind || st.Host != host {
			return
		}
		first := false
		once.Do(func() { first = true })
		if !first {
			return
		}
		done := make(chan struct{})
		reached <- done
		<-done
	}, reached
}

// awaitStep waits for the deploy to reach the step pauseAt holds, and
// fails the test when the deploy ends first (a fault test of another
// step, or a host it could not reach) instead of waiting forever.
func awaitStep(t *testing.T, reached <-chan chan struct{}, result <-chan deployResult) chan struct{} {
	t.Helper()
	select {
	case done := <-reached:
		return done
	case res := <-result:
		t.Fatalf("the deploy ended before it reached the step under test: %v", res.err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the deploy did not reach the step under test in 2 minutes")
	}
	return nil
}

type deployResult struct {
	err error
	at  time.Time
}

func deployAsync(ctx context.Context, s *deploy.Session, version string) <-chan deployResult {
	ch := make(chan deployResult, 1)
	go func() {
		_, err := s.Deploy(ctx, deploy.Release{Version: version})
		ch <- deployResult{err, time.Now()}
	}()
	return ch
}

func TestRollbackKeepsTheRetainedContainerWhenItsGateFails(t *testing.T) {
	a, hosts := faultApp(t, "h7")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connectWith(t, a, faultOptions(&out))
	for _, v := range []string{"v1", "v2"} {
		_, err := s.Deploy(ctx, deploy.Release{Version: v})
		require.NoError(t, err, out.String())
	}
	v1 := deploy.ContainerName(a, "web", "v1")
	require.Equal(t, false, containers(t, hosts[0], a)[v1], "v1 is retained, stopped")

	// The same app with a health path the retained v1 does not answer.
	bad := a
	web := *a.Roles["web"].Proxy
	web.Health.Path = "/missing"
	role := a.Roles["web"]
	role.Proxy = &web
	bad.Roles = deploy.Roles{"web": role}
	_, err := connectWith(t, bad, faultOptions(&out)).Rollback(ctx, "v1")
	require.ErrorIs(t, err, deploy.ErrGateFailed, out.String())

	running, kept := containers(t, hosts[0], a)[v1]
	assert.True(t, kept, "the retained v1 is kept after its gate failed:\n%s", out.String())
	assert.False(t, running, "and stopped again, as it was")
	requireServing(t, a, hosts[0].Addr, "v2")

	_, err = s.Rollback(ctx, "v1")
	require.NoError(t, err, "the kept v1 still rolls back: %s", out.String())
	requireServing(t, a, hosts[0].Addr, "v1")
}

func TestInterruptedDeployLeavesEveryHostServing(t *testing.T) {
	for _, tc := range []struct {
		kind  deploy.StepKind
		delay time.Duration // after the step begins
	}{
		{deploy.StepStart, 10 * time.Millisecond},
		{deploy.StepProxyDeploy, 300 * time.Millisecond}, // inside kamal-proxy's wait for the booting app
		{deploy.StepStopOld, 10 * time.Millisecond},
	} {
		t.Run("interrupted at "+tc.kind.String(), func(t *testing.T) {
			a, hosts := faultApp(t, "h7", "h8")
			a.Env.Clear = map[string]string{"BOOT_DELAY": "1s"}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var out syncBuffer
			s := connectWith(t, a, faultOptions(&out))
			_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
			require.NoError(t, err, out.String())

			dctx, interrupt := context.WithCancel(ctx)
			defer interrupt()
			var interruptedAt time.Time
			hook, reached := pauseAt(tc.kind, hosts[1].Addr)
			deploy.BeforeStep(s, hook)
			result := deployAsync(dctx, s, "v2")
			done := awaitStep(t, reached, result)
			close(done)
			time.Sleep(tc.delay)
			interruptedAt = time.Now()
			interrupt() // Ctrl-C
			res := <-result
			t.Logf("deploy returned %s after the interruption:\n%s", res.at.Sub(interruptedAt).Round(time.Millisecond), out.String())
			require.ErrorIs(t, res.err, context.Canceled)
			assert.Less(t, res.at.Sub(interruptedAt), 5*time.Second, "cleanup fits in the 5 s Mage gives after Ctrl-C")

			for _, h := range hosts {
				requireServing(t, a, h.Addr, "v1", "v2")
			}
			lock, err := s.LockStatus(ctx)
			require.NoError(t, err)
			assert.Nil(t, lock, "the lock is released")

			var rerun syncBuffer
			_, err = connectWith(t, a, faultOptions(&rerun)).Deploy(ctx, deploy.Release{Version: "v2"})
			require.NoError(t, err, "a rerun converges:\n%s", rerun.String())
			for _, h := range hosts {
				requireServing(t, a, h.Addr, "v2")
				assert.Equal(t, map[string]bool{deploy.ContainerName(a, "web", "v1"): false, deploy.ContainerName(a, "web", "v2"): true},
					containers(t, h, a), "%s: v2 runs, v1 is retained", h.Addr)
			}
		})
	}
}

func TestHungEngineFailsTheDeployWithinItsTimeout(t *testing.T) {
	a, hosts := faultApp(t, "h7", "h8")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connectWith(t, a, faultOptions(&out))
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	hook, reached := pauseAt(deploy.StepStart, hosts[1].Addr)
	deploy.BeforeStep(s, hook)
	result := deployAsync(ctx, s, "v2")
	done := awaitStep(t, reached, result)
	resume := hosts[1].PauseEngine(t) // h8's dockerd stops answering
	pausedAt := time.Now()
	close(done)
	res := <-result
	t.Logf("deploy failed %s after dockerd stopped:\n%v\n%s", res.at.Sub(pausedAt).Round(time.Millisecond), res.err, out.String())

	var timeout *deploy.TimeoutError
	require.ErrorAs(t, res.err, &timeout)
	require.ErrorIs(t, res.err, deploy.ErrTimeout)
	assert.Equal(t, hosts[1].Addr, timeout.Host, "names the host")
	assert.Contains(t, timeout.Call, "start", "names the call")
	assert.Equal(t, 3*time.Second, timeout.After)
	assert.Contains(t, res.err.Error(), hosts[1].Addr)

	lock, err := s.LockStatus(ctx)
	require.NoError(t, err)
	assert.Nil(t, lock, "the lock is released")
	requireServing(t, a, hosts[0].Addr, "v2") // the other host deployed and serves

	// While dockerd is stopped, the hung host's own containers stall too
	// as soon as they log (dockerd reads their output); once it answers
	// again, it serves the old release.
	resume()
	requireServing(t, a, hosts[1].Addr, "v1")
	var rerun syncBuffer
	_, err = connectWith(t, a, faultOptions(&rerun)).Deploy(ctx, deploy.Release{Version: "v2"})
	require.NoError(t, err, "once dockerd answers again, a rerun converges:\n%s", rerun.String())
	for _, h := range hosts {
		requireServing(t, a, h.Addr, "v2")
	}
}

func TestDroppedLinkIsCleanedUpOnceItIsBack(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keepAlive time.Duration
		down      time.Duration
	}{
		// Down for 5 s: longer than the 2 s keepalive window, well inside
		// the 30 s reconnect window.
		{"noticed by the keepalive", time.Second, 5 * time.Second},
		// With the default 30 s keepalive the step's 8 s deadline comes
		// first; the cleanup probes the link, finds it dead and dials again.
		{"noticed by the step's deadline", 0, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, hosts := faultApp(t, "h7", "h8")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var out syncBuffer
			opts := faultOptions(&out)
			opts.KeepAliveInterval = tc.keepAlive
			s := connectWith(t, a, opts)
			_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
			require.NoError(t, err, out.String())

			// h7 is the primary host: it holds the lock. Its link drops
			// right after v2 started there.
			h7 := hosts[0]
			hook, reached := pauseAt(deploy.StepProxyDeploy, h7.Addr)
			deploy.BeforeStep(s, hook)
			result := deployAsync(ctx, s, "v2")
			done := awaitStep(t, reached, result)
			up := h7.LinkDown(t)
			close(done)
			time.Sleep(tc.down)
			up()
			res := <-result
			t.Logf("deploy:\n%v\n%s", res.err, out.String())
			require.Error(t, res.err)

			requireServing(t, a, h7.Addr, "v1")       // the old release kept serving
			requireServing(t, a, hosts[1].Addr, "v1") // the primary's batch failed, so h8's never began
			v2 := deploy.ContainerName(a, "web", "v2")
			assert.NotContains(t, containers(t, h7, a), v2, "the unserved v2 is removed")
			lock, err := s.LockStatus(ctx)
			require.NoError(t, err)
			assert.Nil(t, lock, "the lock is released")

			audit, err := s.Audit(ctx, 0)
			require.NoError(t, err)
			var lines []string
			for _, e := range audit[h7.Addr] {
				if e.Version == "v2" {
					lines = append(lines, e.Step+" "+e.Container+" "+e.Result)
				}
			}
			assert.Contains(t, lines, "proxy-deploy "+v2+" failed", "the failed step's audit line is written")
			assert.Contains(t, lines, "cleanup "+v2+" ok", "and the cleanup's")

			var rerun syncBuffer
			_, err = connectWith(t, a, faultOptions(&rerun)).Deploy(ctx, deploy.Release{Version: "v2"})
			require.NoError(t, err, "a rerun deploys without manual steps:\n%s", rerun.String())
			for _, h := range hosts {
				requireServing(t, a, h.Addr, "v2")
			}
		})
	}
}

func TestUnreachableHostLeavesTheLockReportedStale(t *testing.T) {
	a, hosts := faultApp(t, "h7", "h8")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	opts := faultOptions(&out)
	opts.ReconnectWindow = 2 * time.Second
	s := connectWith(t, a, opts)
	_, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())

	// h7, the primary host, drops off the network and stays off until the
	// deploy has given up on it.
	h7 := hosts[0]
	hook, reached := pauseAt(deploy.StepProxyDeploy, h7.Addr)
	deploy.BeforeStep(s, hook)
	result := deployAsync(ctx, s, "v2")
	done := awaitStep(t, reached, result)
	up := h7.LinkDown(t)
	close(done)
	res := <-result
	up()
	t.Logf("deploy:\n%v\n%s", res.err, out.String())

	var stale *deploy.StaleLockError
	require.ErrorAs(t, res.err, &stale)
	assert.Equal(t, h7.Addr, stale.Host)
	assert.Equal(t, "faults-tester", stale.Info.Performer, "names the holder")
	assert.Equal(t, "v2", stale.Info.Version)
	assert.Contains(t, res.err.Error(), "faults-tester since ")
	assert.Contains(t, res.err.Error(), "ago", "and its age")
	assert.Contains(t, res.err.Error(), "lock:release -force")

	other := connectWith(t, a, faultOptions(&syncBuffer{}))
	held, err := other.LockStatus(ctx)
	require.NoError(t, err)
	require.NotNil(t, held, "the lock stays held")
	assert.Equal(t, "faults-tester", held.Performer)
	requireServing(t, a, h7.Addr, "v1")

	broke, err := other.BreakLock(ctx)
	require.NoError(t, err)
	assert.Equal(t, "faults-tester", broke.Performer)
	_, err = other.Deploy(ctx, deploy.Release{Version: "v2"})
	require.NoError(t, err, "once the lock is broken, a rerun converges")
	for _, h := range hosts {
		requireServing(t, a, h.Addr, "v2")
	}
}
