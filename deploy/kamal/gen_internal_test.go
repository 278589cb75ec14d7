package kamal

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/health"
)

// expr renders v with a fresh writer and returns it with its imports.
func expr(t *testing.T, v any) (string, map[string]bool) {
	t.Helper()
	g := &goWriter{imports: map[string]bool{}}
	e, err := g.value("v", reflect.ValueOf(v), false)
	require.NoError(t, err)
	return e, g.imports
}

func TestGoValues(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"a duration in its largest whole unit", 90 * time.Second, "90 * time.Second"},
		{"one unit alone", time.Minute, "time.Minute"},
		{"milliseconds", 1500 * time.Millisecond, "1500 * time.Millisecond"},
		{"a *bool with deploy.Bool", deploy.Proxy{SSLRedirect: deploy.Bool(false)}, "deploy.Proxy{SSLRedirect: deploy.Bool(false)}"},
		{"zero fields left out", deploy.Server{Host: "a", Port: 22}, `deploy.Server{Host: "a", Port: 22}`},
		{"map keys sorted", map[string]string{"b": "2", "a": "1"}, `map[string]string{"a": "1", "b": "2"}`},
		{"plain servers with deploy.Hosts", []deploy.Server{{Host: "a"}, {Host: "b"}}, `deploy.Hosts("a", "b")`},
		{"an empty list kept, as it is not nil", []string{}, "[]string{}"},
		{"element types left out", []deploy.Server{{Host: "a", User: "u"}}, `[]deploy.Server{{Host: "a", User: "u"}}`},
		{"a gate in an interface by its type", deploy.Role{Health: health.TCP{Port: 3000}}, "deploy.Role{Health: health.TCP{Port: 3000}}"},
		{"a pointer to a struct", &deploy.Registry{Username: "u"}, `&deploy.Registry{Username: "u"}`},
		{"a multi-line string raw", "a\nb\n", "`a\nb\n`"},
		{"a string with a backquote quoted", "a`\nb", `"a` + "`" + `\nb"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := expr(t, tt.v)
			assert.Equal(t, tt.want, got)
		})
	}
	t.Run("records the packages it names", func(t *testing.T) {
		_, imports := expr(t, deploy.Role{Health: health.HTTP{Path: "/up", Interval: time.Second}})
		assert.Equal(t, map[string]bool{"github.com/slipwayhq/slipway/deploy": true, "github.com/slipwayhq/slipway/health": true, "time": true}, imports)
	})
	t.Run("memory in binary units", func(t *testing.T) {
		assert.Equal(t, "512 << 20", memoryExpr(512<<20))
		assert.Equal(t, "1000", memoryExpr(1000))
	})
	t.Run("refuses what Go source cannot write", func(t *testing.T) {
		g := &goWriter{imports: map[string]bool{}}
		_, err := g.value("App.Hooks", reflect.ValueOf(deploy.Hooks{PreDeploy: func(ctx context.Context, h deploy.HookContext) error { return nil }}), false)
		assert.ErrorContains(t, err, "App.Hooks.PreDeploy: a func cannot be written as Go source")
		_, err = g.value("App.Secrets", reflect.ValueOf(aliasedSecrets{aliases: map[string]string{"A": "B"}}), false)
		assert.ErrorContains(t, err, "unexported field")
	})
}

func TestGoIdent(t *testing.T) {
	assert.Equal(t, "preDeploy", goIdent("pre-deploy", "Hook"))
	assert.Equal(t, "usEast1", goIdent("us_east_1", "Destination"))
	assert.Equal(t, "destinationDefault", goIdent("default", "Destination"), "a keyword")
	assert.Equal(t, "destination2024", goIdent("2024", "Destination"), "no leading digit")
	assert.Equal(t, "roleA", goIdent("a", "Role"), "not the overlay's parameter")
}
