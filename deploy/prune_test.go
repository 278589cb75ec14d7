package deploy_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
)

func TestVersionsAndPrune(t *testing.T) {
	a, l := labApp(t, 2)
	a.Image = ownImages(t, l, 2, a.Service)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out syncBuffer
	s := connect(t, a, &out)
	for _, v := range []string{"v1", "v2", "v3"} {
		_, err := s.Deploy(ctx, deploy.Release{Version: v})
		require.NoError(t, err, out.String())
	}
	hosts := a.HostNames()

	t.Run("versions lists every retained version per host, newest first", func(t *testing.T) {
		vs, err := s.Versions(ctx)
		require.NoError(t, err)
		require.Len(t, vs, 6)
		for i, host := range hosts {
			got := vs[3*i : 3*i+3]
			for j, want := range []string{"v3", "v2", "v1"} {
				assert.Equal(t, host, got[j].Host)
				assert.Equal(t, "web", got[j].Role)
				assert.Equal(t, want, got[j].Version)
				assert.Equal(t, deploy.ContainerName(a, "web", want), got[j].Container)
				assert.Equal(t, a.Image+":"+want, got[j].Image)
				assert.Equal(t, j == 0, got[j].Running(), "%s runs only v3", host)
				if j > 0 {
					assert.True(t, got[j-1].Created.After(got[j].Created), "%s lists newest first", host)
				}
			}
		}
		assert.Equal(t, []string{"v3", "v2", "v1"}, deploy.RetainedVersions(a, vs))

		var table bytes.Buffer
		require.NoError(t, deploy.PrintVersions(&table, a, vs))
		t.Logf("\n%s", table.String())
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(hosts[1])+` +web +v1 +exited +\d{4}-`, table.String())
		assert.Contains(t, table.String(), "Retained on every host: v3, v2, v1")
	})

	t.Run("prune keeps Retain stopped containers and never the running one", func(t *testing.T) {
		a1 := a
		a1.Retain = 1
		var pout syncBuffer
		p := connect(t, a1, &pout)
		rep, err := p.Prune(ctx)
		require.NoError(t, err, pout.String())
		t.Logf("\n%s", pout.String())

		var gone, images []string
		for _, c := range rep.Containers {
			gone = append(gone, c.Host+" "+c.Container)
		}
		for _, img := range rep.Images {
			images = append(images, img.Host+" "+img.Ref)
		}
		assert.ElementsMatch(t, []string{hosts[0] + " " + a.Service + "-web-v1", hosts[1] + " " + a.Service + "-web-v1"}, gone)
		assert.ElementsMatch(t, []string{hosts[0] + " " + a.Image + ":v1", hosts[1] + " " + a.Image + ":v1"}, images)

		vs, err := p.Versions(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"v3", "v2"}, deploy.RetainedVersions(a1, vs))
		for _, v := range vs {
			assert.Equal(t, v.Version == "v3", v.Running(), "%s %s", v.Host, v.Version)
		}
		for i, h := range l.Hosts[:2] {
			e := h.Engine(t)
			_, err := e.ImageInspect(ctx, a.Image+":v1")
			assert.ErrorIs(t, err, engine.ErrNotFound, "the unused image is gone from %s", h.Name)
			for _, v := range []string{"v2", "v3"} {
				_, err := e.ImageInspect(ctx, a.Image+":"+v)
				assert.NoError(t, err, "%s keeps the image of %s, which a container uses", h.Name, v)
			}
			assert.Equal(t, "v3\n", get(t, hosts[i], a.Service+".test", "/"), "%s still serves v3", h.Name)
		}

		audit, err := p.Audit(ctx, 0)
		require.NoError(t, err)
		for _, host := range hosts {
			var steps []string
			for _, e := range audit[host] {
				if strings.HasPrefix(e.Step, "prune") {
					assert.Equal(t, "tester", e.Performer)
					assert.Equal(t, "ok", e.Result)
					steps = append(steps, e.Step+" "+e.Version+" "+e.Container)
				}
			}
			assert.ElementsMatch(t, []string{"prune v1 " + a.Service + "-web-v1", "prune-image v1 "}, steps, "the audit log of %s", host)
		}
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(hosts[1])+` +web +prune +`+a.Service+`-web-v1 .* ok$`, pout.String())
		lock, err := p.LockStatus(ctx)
		require.NoError(t, err)
		assert.Nil(t, lock, "prune released the lock")

		rep, err = p.Prune(ctx)
		require.NoError(t, err)
		assert.Empty(t, rep.Containers, "a second prune finds nothing to remove")
		assert.Empty(t, rep.Images)
	})
}
