package deploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/internal/lab"
)

// ownImage gives a the test app's images under a repository of its own,
// tagged as versions, on hosts: removing a's images then never touches
// the lab's shared slipway/testapp tags.
func ownImage(t *testing.T, a *deploy.App, hosts []lab.Host, versions ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a.Image = "limits/" + a.Service
	for _, h := range hosts {
		e := h.Engine(t)
		for _, v := range versions {
			require.NoError(t, e.ImageTag(ctx, lab.TestAppImage+":"+v, a.Image+":"+v))
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, h := range hosts {
			if c, e, err := h.Connect(ctx); err == nil {
				for _, v := range versions {
					e.ImageRemove(ctx, a.Image+":"+v, false)
				}
				e.Close()
				c.Close()
			}
		}
	})
}

func TestRemoveLeavesNothingOfTheAppAndTheOtherKeepsServing(t *testing.T) {
	l := lab.Require(t, 2)
	hosts := l.Hosts[:2]
	n := rand.Uint32() % 1_000_000
	keep := testApp(fmt.Sprintf("limits-keep%d", n), hosts)
	gone := testApp(fmt.Sprintf("limits-gone%d", n), hosts)
	for _, a := range []deploy.App{keep, gone} {
		lab.CleanupService(t, l.Hosts, a.Service)
	}
	ownImage(t, &keep, hosts, "v1")
	ownImage(t, &gone, hosts, "v1", "v2")
	gone.Volumes = []string{gone.Service + "-data:/data"} // kept by remove
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, h := range hosts {
			if c, e, err := h.Connect(ctx); err == nil {
				e.VolumeRemove(ctx, gone.Service+"-data", true)
				e.Close()
				c.Close()
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	var out syncBuffer
	_, err := connect(t, keep, &out).Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	s := connect(t, gone, &out)
	for _, v := range []string{"v1", "v2"} { // two versions: v1 stays retained
		_, err := s.Deploy(ctx, deploy.Release{Version: v})
		require.NoError(t, err, out.String())
	}

	t.Run("without confirm it prints the plan and changes nothing", func(t *testing.T) {
		var plan syncBuffer
		dry := connect(t, gone, &plan)
		r, err := dry.Remove(ctx, deploy.RemoveOptions{})
		require.ErrorIs(t, err, deploy.ErrRemoveNotConfirmed)
		assert.Contains(t, err.Error(), "pass -confirm to remove")
		t.Logf("the plan:\n%s", plan.String())
		assert.Contains(t, plan.String(), "stop and remove containers "+gone.Service+"-web-v1, "+gone.Service+"-web-v2")
		assert.Contains(t, plan.String(), "keep volumes "+gone.Service+"-data")
		require.Len(t, r.Hosts, 2)
		for _, h := range r.Hosts {
			assert.False(t, h.Proxy, "kamal-proxy stays for the other app on %s", h.Host)
			assert.Empty(t, h.Network, "the shared network stays on %s", h.Host)
			assert.ElementsMatch(t, []string{gone.Image + ":v1", gone.Image + ":v2"}, h.Images)
		}
		for _, h := range hosts {
			assert.Len(t, appContainers(t, ctx, h, gone.Service), 2, "nothing was removed from %s", h.Name)
		}
	})

	ld := startLoad([]string{hosts[0].Addr, hosts[1].Addr}, keep.Service+".test", 4, 50_000, time.Minute)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	_, err = s.Remove(ctx, deploy.RemoveOptions{Confirm: true})
	took := time.Since(start)
	time.Sleep(300 * time.Millisecond)
	hits := ld.finish()
	require.NoError(t, err, out.String())
	failed := failures(hits)
	t.Logf("removed %s from 2 hosts in %s; %s meanwhile: %d requests, %d failed", gone.Service, took.Round(time.Millisecond), keep.Service, len(hits), len(failed))
	require.NotEmpty(t, hits)
	assert.Empty(t, failed, "the other app served every request")

	for _, h := range hosts {
		e := h.Engine(t)
		assert.Empty(t, appContainers(t, ctx, h, gone.Service), "no container of %s on %s", gone.Service, h.Name)
		assert.Len(t, appContainers(t, ctx, h, keep.Service), 1, "%s still runs on %s", keep.Service, h.Name)
		routes, err := proxy.List(ctx, e, proxy.DefaultContainer)
		require.NoError(t, err, "kamal-proxy still runs on %s", h.Name)
		var services []string
		for _, r := range routes {
			services = append(services, r.Service)
		}
		assert.NotContains(t, services, deploy.ProxyService(gone, "web"), "no route of %s on %s", gone.Service, h.Name)
		assert.Contains(t, services, deploy.ProxyService(keep, "web"))
		images, err := e.ImageList(ctx, nil)
		require.NoError(t, err)
		for _, img := range images {
			for _, tag := range img.Tags {
				assert.False(t, strings.HasPrefix(tag, gone.Image+":"), "image %s left on %s", tag, h.Name)
			}
		}
		_, err = e.VolumeMountpoint(ctx, gone.Service+"-data")
		assert.NoError(t, err, "the volume stays on %s", h.Name)
		res, err := h.Dial(t).Run(ctx, "ls .slipway/locks/ 2>/dev/null; tail -n 1 "+deploy.AuditPath(gone), nil)
		require.NoError(t, err)
		assert.NotContains(t, string(res.Stdout), gone.Service+"-lock", "no lock of %s on %s", gone.Service, h.Name)
		assert.Contains(t, string(res.Stdout), `"step":"remove"`, "the audit log on %s ends with the removal", h.Name)
	}
}

// appContainers names service's containers on h.
func appContainers(t *testing.T, ctx context.Context, h lab.Host, service string) []string {
	t.Helper()
	cs, err := h.Engine(t).List(ctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelService: service}})
	require.NoError(t, err)
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}
