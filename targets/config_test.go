package targets_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/magefile/mage/mg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/targets"
)

// A bad Config cannot fail the magefile's init(), so every target
// reports it instead: exit 2, each field named, and no host dialled.
func TestABadConfigFailsEveryTargetBeforeAnyHost(t *testing.T) {
	dialled := false
	app := deploy.App{
		Service: "cfgshop",
		Image:   "acme/cfgshop",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10")}},
		Hooks:   deploy.Hooks{PreConnect: func(context.Context, deploy.HookContext) error { dialled = true; return nil }},
	}
	targets.Use(targets.Config{
		App:     app,
		Options: deploy.Options{Output: io.Discard},
		Drills: targets.Drills{
			Queries: []replicate.Query{{SQL: "SELECT 1"}},
			DropEnv: []string{"MAIL_URL", ""},
		},
	})
	t.Cleanup(func() { targets.Use(targets.Config{}) })

	ctx := context.Background()
	for name, run := range map[string]func() error{
		"deploy":         func() error { return targets.Deploy(ctx, ptr("v1"), nil) },
		"plan":           func() error { return targets.Plan(ctx, ptr("v1"), nil, nil) },
		"lock:status":    func() error { return targets.Lock{}.Status(ctx, nil) },
		"replica:drill":  func() error { return targets.Replica{}.Drill(ctx, nil, nil, nil) },
		"app:drill":      func() error { return targets.App{}.Drill(ctx, nil, nil) },
		"replica:verify": func() error { return targets.Replica{}.Verify(ctx, nil, nil, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			err := run()
			require.Error(t, err)
			assert.Equal(t, targets.ExitInvalid, mg.ExitStatus(err), "%v", err)
			assert.Equal(t, "drills.queries[0].name: must not be empty: it labels the query in the drill log\n"+
				`drills.dropEnv[1]: must be an env name, got ""`, err.Error())
		})
	}
	assert.False(t, dialled, "no host is dialled")
}

func TestConfigValidate(t *testing.T) {
	app := deploy.App{Service: "hello"}
	for _, tc := range []struct {
		name   string
		config targets.Config
		fields []string
	}{
		{"the zero Drills are valid", targets.Config{App: app}, nil},
		{"a full Config is valid", targets.Config{App: app, Drills: targets.Drills{
			Log:     "drills.jsonl",
			Queries: []replicate.Query{{Name: "orders", SQL: "SELECT id FROM orders", MinRows: 1, MaxRows: 10}},
			Smoke:   []deploy.SmokeCheck{{Path: "/"}, {Path: "/orders", Status: 404}},
			DropEnv: []string{"MAIL_URL"},
		}}, nil},
		{"no app", targets.Config{}, []string{"app"}},
		{"a query without bounds that can pass", targets.Config{App: app, Drills: targets.Drills{
			Queries: []replicate.Query{{Name: "q", SQL: "SELECT 1", MinRows: -1, MaxRows: -2}, {Name: "r", SQL: "SELECT 1", MinRows: 3, MaxRows: 2}},
		}}, []string{"drills.queries[0].minRows", "drills.queries[0].maxRows", "drills.queries[1].maxRows"}},
		{"smoke checks that are not requests", targets.Config{App: app, Drills: targets.Drills{
			Smoke: []deploy.SmokeCheck{{Path: "orders"}, {Path: "/", Status: 42}},
		}}, []string{"drills.smoke[0].path", "drills.smoke[1].status"}},
		{"env names that are not names", targets.Config{App: app, Drills: targets.Drills{
			DropEnv: []string{"A=1", " "},
		}}, []string{"drills.dropEnv[0]", "drills.dropEnv[1]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.config.Validate()
			if tc.fields == nil {
				require.NoError(t, err)
				return
			}
			ve, ok := errors.AsType[*deploy.ValidationError](err)
			require.True(t, ok, "%T: %v", err, err)
			var fields []string
			for _, p := range ve.Problems {
				fields = append(fields, p.Field)
			}
			assert.Equal(t, tc.fields, fields)
		})
	}
}

// A -version that cannot be an image tag is a bad config found offline:
// deploy and plan exit 2 naming it, and dial no host.
func TestABadVersionFailsBeforeAnyHost(t *testing.T) {
	dialled := false
	targets.Use(targets.Config{App: deploy.App{
		Service: "vershop",
		Image:   "acme/vershop",
		Roles:   deploy.Roles{"web": {Servers: deploy.Hosts("203.0.113.10")}},
		Hooks:   deploy.Hooks{PreConnect: func(context.Context, deploy.HookContext) error { dialled = true; return nil }},
	}, Options: deploy.Options{Output: io.Discard}})
	t.Cleanup(func() { targets.Use(targets.Config{}) })

	for name, target := range map[string]func(context.Context, *string, *string) error{
		"deploy": targets.Deploy,
		"plan":   func(ctx context.Context, v, d *string) error { return targets.Plan(ctx, v, d, nil) },
		"plan -offline": func(ctx context.Context, v, d *string) error {
			return targets.Plan(ctx, v, d, ptr(true))
		},
		"check -online": func(ctx context.Context, v, d *string) error {
			return targets.Check(ctx, v, d, ptr(true))
		},
	} {
		err := target(context.Background(), ptr("bad/version"), nil)
		assert.Equal(t, targets.ExitInvalid, mg.ExitStatus(err), "%s: %v", name, err)
		assert.ErrorContains(t, err, `version: must be letters, digits, "_", "." and "-"`, name)
	}
	assert.False(t, dialled, "no host is dialled")
}
