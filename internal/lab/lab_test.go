package lab_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
)

// Every host of a 3-host lab, reached over SSH only, runs a container,
// shows its logs, runs an exec in it and removes it.
func TestEveryHostOverSSH(t *testing.T) {
	l := lab.Require(t, 3)
	for _, h := range l.Hosts[:3] {
		t.Run(h.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			e := h.Engine(t)
			name := fmt.Sprintf("lab-test-%s-%d", h.Name, rand.Uint32())

			_, err := e.Create(ctx, engine.ContainerSpec{
				Name:   name,
				Image:  lab.TestAppImage + ":v2",
				Labels: map[string]string{"slipway.test": "lab"},
			})
			require.NoError(t, err)
			t.Cleanup(func() { e.Remove(context.Background(), name, true) })
			require.NoError(t, e.Start(ctx, name))

			require.Eventually(t, func() bool {
				lines, err := e.Tail(ctx, name, 10)
				return err == nil && strings.Contains(strings.Join(lines, "\n"), "listening on :3000")
			}, 10*time.Second, 50*time.Millisecond, "the app logs that it listens")

			res, err := e.Exec(ctx, name, []string{"/testapp", "version"}, engine.ExecOptions{})
			require.NoError(t, err)
			assert.Equal(t, 0, res.ExitCode)
			assert.Equal(t, "v2\n", string(res.Stdout))

			c, err := e.Inspect(ctx, name)
			require.NoError(t, err)
			assert.True(t, c.Running())
			assert.Equal(t, "lab", c.Labels["slipway.test"])

			require.NoError(t, e.Remove(ctx, name, true))
			_, err = e.Inspect(ctx, name)
			assert.ErrorIs(t, err, engine.ErrNotFound)
		})
	}
}

func TestUpIsIdempotent(t *testing.T) {
	l := lab.Require(t, 1)
	before, err := lab.Open(lab.Options{Dir: l.Dir})
	require.NoError(t, err)
	var pids [][2]int
	for _, h := range before.Hosts {
		d, s := h.DaemonPIDs()
		pids = append(pids, [2]int{d, s})
	}
	again, err := lab.Up(context.Background(), lab.Options{Dir: l.Dir, Hosts: len(before.Hosts)})
	require.NoError(t, err)
	require.Equal(t, before.Hosts, again.Hosts)
	for i, h := range again.Hosts {
		d, s := h.DaemonPIDs()
		assert.Equal(t, pids[i], [2]int{d, s}, "%s's daemons were kept, not restarted", h.Name)
		e := h.Engine(t)
		for _, tag := range append([]string{lab.ProxyImage}, testAppTags()...) {
			_, err := e.ImageInspect(context.Background(), tag)
			assert.NoError(t, err, "%s holds %s", h.Name, tag)
		}
	}
}

func testAppTags() []string {
	var tags []string
	for _, v := range lab.TestAppVersions {
		tags = append(tags, lab.TestAppImage+":"+v)
	}
	return tags
}

func TestMemoryCountsEveryHostsDaemons(t *testing.T) {
	l := lab.Require(t, 1)
	m := l.Memory()
	// Each host runs at least dockerd, containerd and sshd, and dockerd
	// alone holds more than 10 MiB.
	assert.GreaterOrEqual(t, m.Processes, 3*len(l.Hosts))
	assert.Greater(t, m.PerHost(len(l.Hosts)), uint64(10<<20))
	assert.Less(t, m.PerHost(len(l.Hosts)), uint64(2<<30), "a host holds far less than 2 GiB: something else was counted")
}

func TestUpRefusesMoreThanMaxHosts(t *testing.T) {
	_, err := lab.Up(context.Background(), lab.Options{Dir: t.TempDir(), Hosts: lab.MaxHosts + 1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "at most MaxHosts (30)")
}
