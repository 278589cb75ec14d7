package deploy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSmokeChecks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "<h1>Shop</h1>")
	}))
	defer srv.Close()
	ctx := context.Background()

	t.Run("passes a page that answers as expected", func(t *testing.T) {
		res := smoke(ctx, srv.Client(), srv.URL, SmokeCheck{Path: "/", Body: "Shop"})
		assert.Equal(t, SmokeResult{Path: "/", Passed: true}, res)
		assert.Equal(t, "GET /: ok", res.String())
	})
	t.Run("fails a wrong status, saying both", func(t *testing.T) {
		res := smoke(ctx, srv.Client(), srv.URL, SmokeCheck{Path: "/missing"})
		assert.False(t, res.Passed)
		assert.Equal(t, "GET /missing: status 404, want 200", res.String())
		assert.True(t, smoke(ctx, srv.Client(), srv.URL, SmokeCheck{Path: "/missing", Status: 404}).Passed)
	})
	t.Run("fails a body without the text", func(t *testing.T) {
		res := smoke(ctx, srv.Client(), srv.URL, SmokeCheck{Path: "/", Body: "Orders"})
		assert.Equal(t, `GET /: body lacks "Orders"`, res.String())
	})
	t.Run("fails an app that does not answer", func(t *testing.T) {
		res := smoke(ctx, srv.Client(), "http://127.0.0.1:1", SmokeCheck{Path: "/"})
		assert.False(t, res.Passed)
		assert.True(t, strings.HasPrefix(res.String(), "GET /: "), res.String())
	})
	t.Run("keeps the drill log's line and reads it back", func(t *testing.T) {
		rep := AppDrillReport{Kind: "app", Smoke: []SmokeResult{{Path: "/", Passed: true}, {Path: "/up", Problem: "status 503, want 200"}}}
		b, err := json.Marshal(rep)
		require.NoError(t, err)
		assert.Contains(t, string(b), `"smoke":["GET /: ok","GET /up: status 503, want 200"]`)
		var back AppDrillReport
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, rep.Smoke, back.Smoke)
	})
}
