package deploy_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
	"github.com/slipwayhq/slipway/secret"
)

// The secret values of TestFingerprintReplacesWhatChanged: they read as
// values, so a leak of either is plain in any output.
const (
	fpSecretOld = "fp-old-value-4f1c"
	fpSecretNew = "fp-rotated-value-9e2d"
)

// Redeploying the same version after changing one env value, after
// rotating one secret and after changing a role's memory limit replaces
// exactly the containers each change affects, under load with no failed
// request; a replacement whose new container fails its gate puts the old
// one back under its name; a deploy with nothing changed creates nothing
// and the audit says so. The secret's value and the app's key appear in
// no label, plan, output, audit line or error.
func TestFingerprintReplacesWhatChanged(t *testing.T) {
	l := lab.Require(t, 2)
	service := fmt.Sprintf("fingerprint-%d", rand.Uint32()%1_000_000)
	lab.CleanupService(t, l.Hosts[:2], service)
	web, jobs := l.Hosts[0], l.Hosts[1]

	base := testApp(service, l.Hosts[:1])
	w := base.Roles["web"]
	w.Env = deploy.Env{Clear: map[string]string{"LOG_LEVEL": "info"}, Secret: []string{"SECRET_KEY_BASE"}}
	base.Roles["web"] = w
	jobsRole := testApp(service, l.Hosts[1:2]).Roles["web"]
	jobsRole.Proxy = nil
	base.Roles["jobs"] = jobsRole
	base.Retain = 5

	var mu sync.Mutex
	current := fpSecretOld
	base.Secrets = secret.Func(func(_ context.Context, name string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if name != "SECRET_KEY_BASE" {
			return "", fmt.Errorf("no secret %s", name)
		}
		return current, nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var out syncBuffer
	var plans []string
	deployApp := func(a deploy.App) (*deploy.Report, error) {
		s := connect(t, a, &out) // a session resolves its secrets once: a new one sees a rotation
		rep, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
		if rep != nil {
			plans = append(plans, rep.Plan.String())
		}
		return rep, err
	}
	ids := func(h lab.Host) map[string]string { // running container name -> ID
		t.Helper()
		c, e, err := h.Connect(ctx)
		require.NoError(t, err)
		defer c.Close()
		defer e.Close()
		cs, err := e.List(ctx, engine.ListOptions{Labels: map[string]string{deploy.LabelService: service}})
		require.NoError(t, err)
		m := map[string]string{}
		for _, c := range cs {
			m[c.Name] = c.ID
		}
		return m
	}
	reasons := func(rep *deploy.Report) map[string][]string { // container -> why the plan replaces it
		m := map[string][]string{}
		for _, st := range rep.Plan.Steps() {
			if st.Kind == deploy.StepStart {
				m[st.Host+" "+st.Container] = st.Reasons
			}
		}
		return m
	}
	webName, jobsName := service+"-web-v1", service+"-jobs-v1"

	_, err := deployApp(base)
	require.NoError(t, err, out.String())
	webIDs, jobsIDs := ids(web), ids(jobs)
	require.Contains(t, webIDs, webName)
	require.Contains(t, jobsIDs, jobsName)

	const loadLimit = 400_000
	ld := startLoad([]string{web.Addr}, service+".test", 4, loadLimit, 5*time.Minute)
	loadDone := false
	defer func() {
		if !loadDone {
			ld.finish()
		}
	}()

	t.Run("an env value changed replaces the role that has it", func(t *testing.T) {
		a := withRoles(base)
		r := a.Roles["web"]
		r.Env.Clear = map[string]string{"LOG_LEVEL": "debug"}
		a.Roles["web"] = r
		base = a
		rep, err := deployApp(a)
		require.NoError(t, err, out.String())
		assert.Equal(t, map[string][]string{web.Addr + " " + webName: {"env LOG_LEVEL changed"}}, reasons(rep))
		now := ids(web)
		assert.NotEqual(t, webIDs[webName], now[webName], "the web container is a new one")
		assert.Equal(t, jobsIDs, ids(jobs), "the jobs container is untouched")
		webIDs = now
	})
	t.Run("a rotated secret replaces the role that has it", func(t *testing.T) {
		mu.Lock()
		current = fpSecretNew
		mu.Unlock()
		rep, err := deployApp(base)
		require.NoError(t, err, out.String())
		assert.Equal(t, map[string][]string{web.Addr + " " + webName: {"secret SECRET_KEY_BASE rotated"}}, reasons(rep))
		t.Logf("the rotation's plan:\n%s", rep.Plan)
		now := ids(web)
		assert.NotEqual(t, webIDs[webName], now[webName])
		assert.Equal(t, jobsIDs, ids(jobs))
		webIDs = now
	})
	t.Run("a memory limit changed replaces that role only", func(t *testing.T) {
		a := withRoles(base)
		r := a.Roles["jobs"]
		r.Options.Memory = 64 << 20
		a.Roles["jobs"] = r
		base = a
		rep, err := deployApp(a)
		require.NoError(t, err, out.String())
		assert.Equal(t, map[string][]string{jobs.Addr + " " + jobsName: {"memory changed"}}, reasons(rep))
		now := ids(jobs)
		assert.NotEqual(t, jobsIDs[jobsName], now[jobsName])
		assert.Equal(t, webIDs, ids(web), "the web container is untouched")
		jobsIDs = now
	})
	t.Run("a replacement that fails its gate puts the old container back under its name", func(t *testing.T) {
		a := withRoles(base)
		r := a.Roles["web"]
		r.Env.Clear = map[string]string{"LOG_LEVEL": "debug", "UP_FAIL": "1"}
		a.Roles["web"] = r
		_, err := deployApp(a)
		require.ErrorIs(t, err, deploy.ErrGateFailed, out.String())
		assert.NotContains(t, err.Error(), fpSecretNew)
		t.Logf("the failed replacement's error:\n%v", err)
		assert.Equal(t, webIDs, ids(web), "the container that served serves again, under its own name")
	})
	t.Run("a deploy with nothing changed creates nothing and the audit says so", func(t *testing.T) {
		s := connect(t, base, &out)
		rep, err := s.Deploy(ctx, deploy.Release{Version: "v1"})
		require.NoError(t, err, out.String())
		plans = append(plans, rep.Plan.String())
		assert.Empty(t, rep.Steps, "no step ran")
		assert.Equal(t, webIDs, ids(web))
		assert.Equal(t, jobsIDs, ids(jobs))
		entries, err := s.Audit(ctx, 1)
		require.NoError(t, err)
		for _, h := range []string{web.Addr, jobs.Addr} {
			require.Len(t, entries[h], 1)
			assert.Equal(t, "nothing-to-deploy", entries[h][0].Step, "the audit on %s says nothing was deployed", h)
		}
	})

	hits := ld.finish()
	loadDone = true
	failed := failures(hits)
	t.Logf("load through kamal-proxy on %s during 4 deploys (3 replacements, 1 failed one): %d requests, %d failed", web.Addr, len(hits), len(failed))
	require.NotEmpty(t, hits)
	require.Less(t, len(hits), loadLimit, "the load ran until the last deploy was over")
	assert.Empty(t, failed, "no request failed while containers were replaced")

	t.Run("the secret and the key appear nowhere", func(t *testing.T) {
		c, e, err := web.Connect(ctx)
		require.NoError(t, err)
		defer c.Close()
		defer e.Close()
		res, err := c.Run(ctx, "cat .slipway/keys/"+service+"-fingerprint", nil)
		require.NoError(t, err)
		key := strings.TrimSpace(string(res.Stdout))
		require.Len(t, key, 64, "the key is on the primary host")
		mode, err := c.Run(ctx, "stat -c %a .slipway/keys/"+service+"-fingerprint", nil)
		require.NoError(t, err)
		assert.Equal(t, "600", strings.TrimSpace(string(mode.Stdout)))

		var seen []string
		for _, h := range []lab.Host{web, jobs} {
			hc, he, err := h.Connect(ctx)
			require.NoError(t, err)
			cs, err := he.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{deploy.LabelService: service}})
			require.NoError(t, err)
			for _, ctr := range cs {
				require.NotEmpty(t, ctr.Labels[deploy.LabelFingerprint], "%s carries its fingerprint", ctr.Name)
				for k, v := range ctr.Labels {
					seen = append(seen, k+"="+v)
				}
			}
			audit, err := hc.Run(ctx, "cat .slipway/audit/"+service+"-audit.log", nil)
			require.NoError(t, err)
			seen = append(seen, string(audit.Stdout))
			he.Close()
			hc.Close()
		}
		seen = append(seen, out.String())
		seen = append(seen, plans...)
		for _, text := range seen {
			for _, leak := range []string{fpSecretOld, fpSecretNew, key} {
				assert.NotContains(t, text, leak)
			}
		}
		assert.True(t, slices.ContainsFunc(seen, func(s string) bool {
			return strings.Contains(s, "replace "+webName+" (secret SECRET_KEY_BASE rotated)")
		}),
			"the plan says why it replaces")
	})
}

// withRoles is a with a Roles map of its own, to change without changing a.
func withRoles(a deploy.App) deploy.App {
	a.Roles = maps.Clone(a.Roles)
	return a
}

// A role that writes a database is replaced by handoff, one writer at a
// time, when its env changes; a replacement that fails its gate leaves
// the old container serving under its own name, routed to by it. No
// request fails either way: the paused service holds them.
func TestFingerprintReplacesAWriterByHandoff(t *testing.T) {
	a, h := handoffApp(t)
	a.Service = "fingerprint-" + a.Service
	lab.CleanupService(t, []lab.Host{h}, a.Service)
	a.Volumes = []string{a.Service + "-data:/data"}
	w := a.Roles["web"]
	w.Proxy.Hosts = []string{a.Service + ".test"}
	w.Env = deploy.Env{Clear: map[string]string{"LOG_LEVEL": "info"}}
	a.Roles["web"] = w
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, e, err := h.Connect(ctx); err == nil {
			e.VolumeRemove(ctx, a.Service+"-data", true)
			e.Close()
			c.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out syncBuffer
	_, err := connect(t, a, &out).Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	name := deploy.ContainerName(a, "web", "v1")
	idOf := func() string {
		c, err := h.Engine(t).Inspect(ctx, name)
		require.NoError(t, err)
		return c.ID
	}
	before := idOf()

	ld := startLoadWait([]string{h.Addr}, a.Service+".test", 4, 200_000, 3*time.Minute, heldFor(a))
	changed := withRoles(a)
	r := changed.Roles["web"]
	r.Env.Clear = map[string]string{"LOG_LEVEL": "debug"}
	changed.Roles["web"] = r
	rep, err := connect(t, changed, &out).Deploy(ctx, deploy.Release{Version: "v1"})
	require.NoError(t, err, out.String())
	var starts []deploy.Step
	for _, st := range rep.Plan.Steps() {
		if st.Kind == deploy.StepHandoffStart {
			starts = append(starts, st)
		}
	}
	require.Len(t, starts, 1, "the writer is replaced by handoff")
	assert.Equal(t, []string{"env LOG_LEVEL changed"}, starts[0].Reasons)
	replaced := idOf()
	assert.NotEqual(t, before, replaced)
	assert.Equal(t, name+":3000", route(t, ctx, a, h).Target)

	failing := withRoles(changed)
	r = failing.Roles["web"]
	r.Env.Clear = map[string]string{"LOG_LEVEL": "debug", "UP_FAIL": "1"}
	failing.Roles["web"] = r
	_, err = connect(t, failing, &out).Deploy(ctx, deploy.Release{Version: "v1"})
	require.ErrorIs(t, err, deploy.ErrGateFailed, out.String())
	assert.Equal(t, replaced, idOf(), "the container that served serves again, under its own name")
	assert.Equal(t, name+":3000", route(t, ctx, a, h).Target, "and kamal-proxy routes to it by that name")

	hits := ld.finish()
	t.Logf("load through kamal-proxy on %s during a handoff replacement and a failed one: %d requests, %d failed", h.Addr, len(hits), len(failures(hits)))
	require.NotEmpty(t, hits)
	require.Less(t, len(hits), 200_000, "the load ran until the last deploy was over")
	assert.Empty(t, failures(hits))
}
