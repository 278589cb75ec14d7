package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/secret"
)

// mapSource has the secrets in its map and misses every other.
type mapSource map[string]string

func (m mapSource) Secret(_ context.Context, name string) (string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", &secret.MissingError{Name: name, Where: "not in the map"}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
}

func secretsApp(src secret.Source) App {
	a := validApp()
	a.Secrets = src
	a.Env.Secret = []string{"SECRET_KEY_BASE", "LITESTREAM_SECRET_ACCESS_KEY"}
	a.Roles["jobs"].Env.Secret[0] = "JOBS_TOKEN"
	return a
}

func TestResolveSecrets(t *testing.T) {
	t.Run("resolves the app's and every role's secrets, the proxy's certificate among them", func(t *testing.T) {
		var asked []string
		src := secret.Func(func(_ context.Context, name string) (string, error) {
			asked = append(asked, name)
			return "value-of-" + name, nil
		})
		got, err := ResolveSecrets(t.Context(), secretsApp(src))
		require.NoError(t, err)
		assert.Equal(t, []string{"HELLO_TLS_CERT", "HELLO_TLS_KEY", "JOBS_TOKEN", "LITESTREAM_SECRET_ACCESS_KEY", "SECRET_KEY_BASE"}, asked, "once each, in order")
		assert.Equal(t, secret.Values{
			"HELLO_TLS_CERT":               "value-of-HELLO_TLS_CERT",
			"HELLO_TLS_KEY":                "value-of-HELLO_TLS_KEY",
			"JOBS_TOKEN":                   "value-of-JOBS_TOKEN",
			"LITESTREAM_SECRET_ACCESS_KEY": "value-of-LITESTREAM_SECRET_ACCESS_KEY",
			"SECRET_KEY_BASE":              "value-of-SECRET_KEY_BASE",
		}, got)
	})

	t.Run("reads the environment when the app names no source", func(t *testing.T) {
		t.Setenv("SECRET_KEY_BASE", "env-skb")
		t.Setenv("LITESTREAM_SECRET_ACCESS_KEY", "env-ls")
		t.Setenv("JOBS_TOKEN", "env-jobs")
		t.Setenv("HELLO_TLS_CERT", "env-cert")
		t.Setenv("HELLO_TLS_KEY", "env-key")
		got, err := ResolveSecrets(t.Context(), secretsApp(nil))
		require.NoError(t, err)
		assert.Equal(t, "env-skb", got["SECRET_KEY_BASE"])
	})

	t.Run("names every missing secret in one error", func(t *testing.T) {
		_, err := ResolveSecrets(t.Context(), secretsApp(mapSource{"JOBS_TOKEN": "jt", "HELLO_TLS_CERT": "cert-pem", "HELLO_TLS_KEY": "key-pem"}))
		require.ErrorIs(t, err, secret.ErrMissing)
		var missing *secret.MissingListError
		require.ErrorAs(t, err, &missing)
		assert.Equal(t, []string{"LITESTREAM_SECRET_ACCESS_KEY", "SECRET_KEY_BASE"}, missing.Names)
		assert.EqualError(t, err, "2 secrets missing: LITESTREAM_SECRET_ACCESS_KEY, SECRET_KEY_BASE\n"+
			"  LITESTREAM_SECRET_ACCESS_KEY: not in the map\n"+
			"  SECRET_KEY_BASE: not in the map")
	})

	t.Run("reports failures beside missing secrets", func(t *testing.T) {
		src := secret.Func(func(_ context.Context, name string) (string, error) {
			if name == "JOBS_TOKEN" {
				return "", errors.New("vault sealed")
			}
			return "", &secret.MissingError{Name: name, Where: "nowhere"}
		})
		_, err := ResolveSecrets(t.Context(), secretsApp(src))
		require.ErrorIs(t, err, secret.ErrMissing)
		assert.Contains(t, err.Error(), "4 secrets missing")
		assert.Contains(t, err.Error(), "vault sealed")
	})
}
