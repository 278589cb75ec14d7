package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
)

const testApp = "slipway/testapp:v1"

func TestNewExplainsAnEngineThatDoesNotAnswer(t *testing.T) {
	h := lab.Require(t, 1).Hosts[0]
	ssh := h.Dial(t)
	socket := "/nonexistent/docker.sock"

	_, err := engine.New(t.Context(), func(ctx context.Context) (net.Conn, error) {
		return ssh.DialContext(ctx, "unix", socket)
	}, engine.Options{Host: ssh.Host(), Socket: socket})

	require.Error(t, err)
	t.Log(err)
	assert.Contains(t, err.Error(), "docker engine on "+ssh.Host())
	assert.Contains(t, err.Error(), "socket "+socket)
	assert.Contains(t, err.Error(), "check that dockerd runs there")
	assert.NotContains(t, err.Error(), "Is the docker daemon running", "the cause is the SSH layer's, not the client's guess")
}

func TestVersion(t *testing.T) {
	e, _ := onLab(t)

	v, err := e.Version(t.Context())
	require.NoError(t, err)
	assert.NotEmpty(t, v.Server)
	assert.NotEmpty(t, v.API)
	assert.Equal(t, "linux", v.OS)
	assert.Equal(t, runtime.GOARCH, v.Arch, "the lab's hosts are this machine")
	require.NoError(t, e.Ping(t.Context()))
}

func TestContainerRunsAsSpecified(t *testing.T) {
	e, h := onLab(t)
	ctx := t.Context()
	side := sideDoor(t, h)
	netName, tag := unique("e2e-net"), unique("run")
	require.NoError(t, e.NetworkEnsure(ctx, netName, nil))
	t.Cleanup(func() { _, _ = side.NetworkRemove(context.Background(), netName, client.NetworkRemoveOptions{}) })

	name := unique("e2e-web")
	id := run(t, e, engine.ContainerSpec{
		Name:           name,
		Image:          testApp,
		Env:            []string{"APP_VERSION=v1-e2e"},
		Labels:         map[string]string{"slipway.test": tag, "role": "web"},
		Network:        netName,
		NetworkAliases: []string{"web"},
		Ports:          []string{"127.0.0.1::3000"},
		Restart:        "unless-stopped",
		StopTimeout:    7 * time.Second,
		Memory:         64 << 20,
		CPUs:           0.5,
		LogOptions:     map[string]string{"max-size": "1m"},
		ExtraHosts:     []string{"db.internal:10.9.9.9"},
		Init:           true,
	})

	t.Run("inspects as running with its labels and address", func(t *testing.T) {
		c, err := e.Inspect(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, id, c.ID)
		assert.Equal(t, name, c.Name)
		assert.Equal(t, testApp, c.Image)
		assert.True(t, strings.HasPrefix(c.ImageID, "sha256:"), c.ImageID)
		assert.Equal(t, map[string]string{"slipway.test": tag, "role": "web", "org.opencontainers.image.version": "v1"}, c.Labels)
		assert.Equal(t, engine.StateRunning, c.State)
		assert.True(t, c.Running())
		assert.Equal(t, engine.HealthNone, c.Health, "the test app has no HEALTHCHECK")
		assert.False(t, c.Created.IsZero())
		assert.False(t, c.StartedAt.IsZero())
		assert.True(t, c.FinishedAt.IsZero())
		assert.NotEmpty(t, c.IP(netName))
		assert.Equal(t, []string{netName}, keys(c.IPs))
	})

	t.Run("hands the engine every setting of the spec", func(t *testing.T) {
		res, err := side.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		require.NoError(t, err)
		raw := res.Container
		hc := raw.HostConfig
		assert.Equal(t, int64(64<<20), hc.Memory)
		assert.Equal(t, int64(500_000_000), hc.NanoCPUs)
		assert.Equal(t, container.RestartPolicy{Name: "unless-stopped"}, hc.RestartPolicy)
		assert.Equal(t, "1m", hc.LogConfig.Config["max-size"])
		assert.Equal(t, []string{"db.internal:10.9.9.9"}, hc.ExtraHosts)
		require.NotNil(t, hc.Init)
		assert.True(t, *hc.Init)
		require.NotNil(t, raw.Config.StopTimeout)
		assert.Equal(t, 7, *raw.Config.StopTimeout)
		assert.Contains(t, raw.Config.Env, "APP_VERSION=v1-e2e")
		assert.Contains(t, raw.NetworkSettings.Networks[netName].Aliases, "web")
		published := raw.NetworkSettings.Ports[network.MustParsePort("3000/tcp")]
		require.Len(t, published, 1)
		assert.Equal(t, "127.0.0.1", published[0].HostIP.String())
	})

	t.Run("lists by label", func(t *testing.T) {
		cs, err := e.List(ctx, engine.ListOptions{Labels: map[string]string{"slipway.test": tag, "role": "web"}})
		require.NoError(t, err)
		require.Len(t, cs, 1)
		assert.Equal(t, id, cs[0].ID)
		assert.Equal(t, name, cs[0].Name)
		assert.Equal(t, engine.StateRunning, cs[0].State)
		assert.Equal(t, testApp, cs[0].Image)
		assert.Equal(t, tag, cs[0].Labels["slipway.test"])
		assert.NotEmpty(t, cs[0].IP(netName))
		assert.False(t, cs[0].Created.IsZero())

		none, err := e.List(ctx, engine.ListOptions{Labels: map[string]string{"slipway.test": tag, "role": "worker"}, All: true})
		require.NoError(t, err)
		assert.Empty(t, none, "every label must match")
	})

	t.Run("serves on its address", func(t *testing.T) {
		c, err := e.Inspect(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, "v1-e2e\n", get(t, h, "http://"+net.JoinHostPort(c.IP(netName), "3000")+"/"))
	})
}

func TestExec(t *testing.T) {
	e, _ := onLab(t)
	ctx := t.Context()
	name := unique("e2e-exec")
	run(t, e, engine.ContainerSpec{Name: name, Image: testApp})

	t.Run("returns the output of a command that succeeds", func(t *testing.T) {
		res, err := e.Exec(ctx, name, []string{"/testapp", "version"}, engine.ExecOptions{})
		require.NoError(t, err)
		assert.Equal(t, 0, res.ExitCode)
		assert.Equal(t, "v1\n", string(res.Stdout))
		assert.Empty(t, res.Stderr)
	})

	t.Run("runs with the given environment, user, directory and stdin", func(t *testing.T) {
		res, err := e.Exec(ctx, name, []string{"/testapp", "version"}, engine.ExecOptions{
			Env: []string{"APP_VERSION=from-exec"}, User: "65534:65534", WorkingDir: "/tmp",
			Stdin: strings.NewReader("ignored\n"),
		})
		require.NoError(t, err)
		assert.Equal(t, 0, res.ExitCode)
		assert.Equal(t, "from-exec\n", string(res.Stdout))
	})

	t.Run("reports a failing command's exit code and stderr, not an error", func(t *testing.T) {
		res, err := e.Exec(ctx, name, []string{"/testapp", "fail"}, engine.ExecOptions{})
		require.NoError(t, err)
		assert.Equal(t, 2, res.ExitCode)
		assert.Equal(t, "failing on purpose\n", string(res.Stderr))
		assert.Empty(t, res.Stdout)
	})

	t.Run("reports a program that cannot start as a non-zero exit", func(t *testing.T) {
		res, err := e.Exec(ctx, name, []string{"/no-such-program"}, engine.ExecOptions{})
		require.NoError(t, err)
		assert.NotZero(t, res.ExitCode)
		t.Logf("exit %d: %s%s", res.ExitCode, res.Stdout, res.Stderr)
	})

	t.Run("gives up on a command when ctx ends", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := e.Exec(short, name, []string{"/testapp", "sleep", "30s"}, engine.ExecOptions{})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 5*time.Second)
	})

	t.Run("fails with ErrNotFound in a missing container", func(t *testing.T) {
		_, err := e.Exec(ctx, unique("e2e-missing"), []string{"/testapp", "version"}, engine.ExecOptions{})
		require.ErrorIs(t, err, engine.ErrNotFound)
	})
}

func TestLogs(t *testing.T) {
	e, h := onLab(t)
	ctx := t.Context()
	name := unique("e2e-logs")
	run(t, e, engine.ContainerSpec{Name: name, Image: testApp})
	c, err := e.Inspect(ctx, name)
	require.NoError(t, err)
	url := "http://" + net.JoinHostPort(c.IP(""), "3000")

	t.Run("tails the last lines", func(t *testing.T) {
		get(t, h, url+"/up")
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			lines, err := e.Tail(ctx, name, 2)
			require.NoError(c, err)
			require.Len(c, lines, 2)
			assert.Contains(c, lines[0], "listening on :3000")
			assert.Contains(c, lines[1], "GET /up")
		}, 10*time.Second, 100*time.Millisecond)
	})

	t.Run("follows new lines until ctx ends", func(t *testing.T) {
		var out syncBuffer
		fctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		since := time.Now()
		go func() { done <- e.Logs(fctx, name, engine.LogOptions{Follow: true, Since: since}, &out, &out) }()

		get(t, h, url+"/up?followed")
		require.Eventually(t, func() bool {
			return strings.Contains(out.String(), "GET /up")
		}, 10*time.Second, 100*time.Millisecond)
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Logs kept following after ctx ended")
		}
	})

	t.Run("stops following when the container stops", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { done <- e.Logs(ctx, name, engine.LogOptions{Follow: true, Tail: 1}, io.Discard, io.Discard) }()
		require.NoError(t, e.Stop(ctx, name, 10*time.Second))
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Fatal("Logs kept following a stopped container")
		}
	})
}

func TestStop(t *testing.T) {
	e, _ := onLab(t)
	ctx := t.Context()
	name := unique("e2e-stop")
	run(t, e, engine.ContainerSpec{Name: name, Image: testApp})
	// A PID 1 ignores SIGTERM until it installs a handler: wait until the
	// app is up, or the stop below could race its start.
	require.Eventually(t, func() bool {
		lines, err := e.Tail(ctx, name, 5)
		return err == nil && strings.Contains(strings.Join(lines, "\n"), "listening")
	}, 10*time.Second, 20*time.Millisecond)

	start := time.Now()
	require.NoError(t, e.Stop(ctx, name, 20*time.Second))
	assert.Less(t, time.Since(start), 15*time.Second, "the test app stops on SIGTERM without waiting out the timeout")

	c, err := e.Inspect(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, engine.StateExited, c.State)
	assert.Equal(t, 0, c.ExitCode, "a graceful exit")
	assert.False(t, c.OOMKilled)
	assert.True(t, c.FinishedAt.After(c.StartedAt))

	require.NoError(t, e.Stop(ctx, name, time.Second), "stopping a stopped container is fine")
	require.ErrorIs(t, e.Stop(ctx, unique("e2e-missing"), time.Second), engine.ErrNotFound)
}

func TestCrashReportsExitCodeAndRestarts(t *testing.T) {
	e, _ := onLab(t)
	ctx := t.Context()
	name := unique("e2e-crash")
	run(t, e, engine.ContainerSpec{
		Name: name, Image: testApp, Restart: "on-failure:1",
		Env: []string{"EXIT_AFTER=300ms"},
	})

	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		c, err := e.Inspect(ctx, name)
		require.NoError(ct, err)
		assert.Equal(ct, engine.StateExited, c.State)
		assert.Equal(ct, 1, c.RestartCount)
		assert.Equal(ct, 3, c.ExitCode)
	}, 20*time.Second, 200*time.Millisecond)
}

func TestRenameAndRemove(t *testing.T) {
	e, _ := onLab(t)
	ctx := t.Context()
	name, newName := unique("e2e-old"), unique("e2e-new")
	id := create(t, e, engine.ContainerSpec{Name: name, Image: testApp})

	require.NoError(t, e.Rename(ctx, name, newName))
	_, err := e.Inspect(ctx, name)
	require.ErrorIs(t, err, engine.ErrNotFound)
	assert.Contains(t, err.Error(), "inspect container "+name+" on ")
	c, err := e.Inspect(ctx, newName)
	require.NoError(t, err)
	assert.Equal(t, id, c.ID)
	assert.Equal(t, newName, c.Name)
	assert.Equal(t, engine.StateCreated, c.State)

	require.NoError(t, e.Start(ctx, newName))
	require.Error(t, e.Remove(ctx, newName, false), "a running container needs force")
	_, err = e.Inspect(ctx, id)
	require.NoError(t, err, "still there")

	require.NoError(t, e.Remove(ctx, newName, true))
	_, err = e.Inspect(ctx, id)
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.ErrorIs(t, e.Remove(ctx, newName, true), engine.ErrNotFound)
	require.ErrorIs(t, e.Start(ctx, newName), engine.ErrNotFound)
}

func TestImages(t *testing.T) {
	e, _ := onLab(t)
	ctx := t.Context()

	orig, err := e.ImageInspect(ctx, testApp)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(orig.ID, "sha256:"), orig.ID)
	assert.Contains(t, orig.Tags, testApp)
	assert.Equal(t, "linux", orig.OS)
	assert.Equal(t, runtime.GOARCH, orig.Arch)
	assert.Positive(t, orig.Size)
	assert.Equal(t, "v1", orig.Labels["org.opencontainers.image.version"])

	tag := "slipway/testapp:" + unique("e2e")
	require.NoError(t, e.ImageTag(ctx, testApp, tag))
	t.Cleanup(func() { _ = e.ImageRemove(context.Background(), tag, false) })

	t.Run("a new tag names the same image", func(t *testing.T) {
		img, err := e.ImageInspect(ctx, tag)
		require.NoError(t, err)
		assert.Equal(t, orig.ID, img.ID)
		assert.ElementsMatch(t, []string{testApp, tag}, img.Tags)
	})

	t.Run("lists images by label", func(t *testing.T) {
		imgs, err := e.ImageList(ctx, map[string]string{"org.opencontainers.image.version": "v1"})
		require.NoError(t, err)
		// The lab is shared: an earlier build of the test app may linger untagged.
		var found *engine.Image
		for i, img := range imgs {
			assert.Equal(t, "v1", img.Labels["org.opencontainers.image.version"], "every image listed carries the label")
			if img.ID == orig.ID {
				found = &imgs[i]
			}
		}
		require.NotNil(t, found, "the image is listed by its label")
		assert.Contains(t, found.Tags, tag)
		assert.Positive(t, found.Size)
		none, err := e.ImageList(ctx, map[string]string{"org.opencontainers.image.version": "v1", "slipway.test": unique("none")})
		require.NoError(t, err)
		assert.Empty(t, none, "every label must match")

		all, err := e.ImageList(ctx, nil)
		require.NoError(t, err)
		var refs []string
		for _, img := range all {
			refs = append(refs, img.Tags...)
		}
		assert.Contains(t, refs, "basecamp/kamal-proxy:v0.9.2")
	})

	t.Run("removing a tag keeps the image", func(t *testing.T) {
		require.NoError(t, e.ImageRemove(ctx, tag, false))
		_, err := e.ImageInspect(ctx, tag)
		require.ErrorIs(t, err, engine.ErrNotFound)
		_, err = e.ImageInspect(ctx, testApp)
		require.NoError(t, err)
		require.ErrorIs(t, e.ImageRemove(ctx, tag, false), engine.ErrNotFound)
	})

	t.Run("fails to load what is not an image archive", func(t *testing.T) {
		err := e.ImageLoad(ctx, strings.NewReader("not a tar"))
		require.Error(t, err)
		t.Log(err)
		assert.Contains(t, err.Error(), "load images on ")
	})
}

func TestNetworkEnsureAndVolumeEnsure(t *testing.T) {
	e, h := onLab(t)
	ctx := t.Context()
	side := sideDoor(t, h)
	labels := map[string]string{"slipway.test": "ensure"}

	t.Run("creates a network once", func(t *testing.T) {
		name := unique("e2e-net")
		t.Cleanup(func() { _, _ = side.NetworkRemove(context.Background(), name, client.NetworkRemoveOptions{}) })
		require.NoError(t, e.NetworkEnsure(ctx, name, labels))
		require.NoError(t, e.NetworkEnsure(ctx, name, map[string]string{"other": "labels"}))

		n, err := side.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
		require.NoError(t, err)
		assert.Equal(t, "bridge", n.Network.Driver)
		assert.Equal(t, labels, n.Network.Labels, "an existing network is left as it is")
		list, err := side.NetworkList(ctx, client.NetworkListOptions{})
		require.NoError(t, err)
		count := 0
		for _, n := range list.Items {
			if n.Name == name {
				count++
			}
		}
		assert.Equal(t, 1, count, "no duplicate of the same name")
	})

	t.Run("keeps one network when callers ensure it at once", func(t *testing.T) {
		// Engines before API 1.44 (the lab's is 1.41) do not refuse a taken name.
		name := unique("e2e-net")
		t.Cleanup(func() {
			list, _ := side.NetworkList(context.Background(), client.NetworkListOptions{})
			for _, n := range list.Items {
				if n.Name == name {
					_, _ = side.NetworkRemove(context.Background(), n.ID, client.NetworkRemoveOptions{})
				}
			}
		})
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { errs[i] = e.NetworkEnsure(ctx, name, labels) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		list, err := side.NetworkList(ctx, client.NetworkListOptions{})
		require.NoError(t, err)
		count := 0
		for _, n := range list.Items {
			if n.Name == name {
				count++
			}
		}
		assert.Equal(t, 1, count)
	})

	t.Run("accepts the engine's own networks", func(t *testing.T) {
		require.NoError(t, e.NetworkEnsure(ctx, "bridge", nil))
	})

	t.Run("creates a volume once", func(t *testing.T) {
		name := unique("e2e-vol")
		t.Cleanup(func() { _, _ = side.VolumeRemove(context.Background(), name, client.VolumeRemoveOptions{Force: true}) })
		require.NoError(t, e.VolumeEnsure(ctx, name, labels))
		require.NoError(t, e.VolumeEnsure(ctx, name, labels))

		v, err := side.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
		require.NoError(t, err)
		assert.Equal(t, "local", v.Volume.Driver)
		assert.Equal(t, labels, v.Volume.Labels)
	})
}

// onLab returns the engine of the lab's first host, reached over SSH.
func onLab(t *testing.T) (*engine.Engine, lab.Host) {
	t.Helper()
	h := lab.Require(t, 1).Hosts[0]
	return h.Engine(t), h
}

// sideDoor is the Docker client on the lab host's socket, to check what an
// Engine did and to clean up what it has no call for.
func sideDoor(t *testing.T, h lab.Host) *client.Client {
	t.Helper()
	c, err := client.New(client.WithHost("unix://" + h.DockerSocket))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func unique(prefix string) string {
	return fmt.Sprintf("%s-%08x", prefix, rand.Uint32())
}

// create creates a container that is removed when the test ends.
func create(t *testing.T, e *engine.Engine, spec engine.ContainerSpec) string {
	t.Helper()
	id, err := e.Create(t.Context(), spec)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = e.Remove(ctx, id, true)
	})
	return id
}

// run creates and starts a container that is removed when the test ends.
func run(t *testing.T, e *engine.Engine, spec engine.ContainerSpec) string {
	t.Helper()
	id := create(t, e, spec)
	require.NoError(t, e.Start(t.Context(), id))
	return id
}

// get fetches url from the host's side, over SSH, as only the host can
// reach its containers; it retries while the app boots.
func get(t *testing.T, h lab.Host, url string) string {
	t.Helper()
	ssh := h.Dial(t)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return ssh.DialContext(ctx, "tcp", addr)
		},
	}}
	var body string
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := hc.Get(url)
		require.NoError(c, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(c, err)
		require.Equal(c, http.StatusOK, resp.StatusCode, string(b))
		body = string(b)
	}, 10*time.Second, 100*time.Millisecond)
	return body
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// syncBuffer is a bytes.Buffer that Logs can write while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
