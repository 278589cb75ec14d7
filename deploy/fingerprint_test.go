package deploy_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/secret"
)

func TestFingerprint(t *testing.T) {
	base := map[string]any{"image": "sha256:abc", "cmd": []string{"/hello"}, "env.LOG_LEVEL": "info", "memory": int64(512 << 20)}
	f := deploy.FingerprintOf(base)

	t.Run("is stable and round-trips through its label", func(t *testing.T) {
		assert.Equal(t, f, deploy.FingerprintOf(base))
		assert.Equal(t, f, deploy.ParseFingerprint(f.Label()))
		assert.NotContains(t, f.Label(), "info", "a clear value shows only as a hash")
	})
	t.Run("leaves nil parts out", func(t *testing.T) {
		with := map[string]any{"user": nil}
		for k, v := range base {
			with[k] = v
		}
		assert.Equal(t, f, deploy.FingerprintOf(with))
	})
	t.Run("says which part changed", func(t *testing.T) {
		changed := map[string]any{"image": "sha256:def", "cmd": []string{"/hello"}, "env.LOG_LEVEL": "debug", "env.DEBUG": "1"}
		assert.Equal(t, []string{"env DEBUG added", "env LOG_LEVEL changed", "image changed", "memory changed"},
			deploy.FingerprintOf(changed).Changes(f))
		assert.Empty(t, f.Changes(f))
	})
	t.Run("takes a container without a fingerprint as it is", func(t *testing.T) {
		assert.Nil(t, deploy.ParseFingerprint(""))
		assert.Empty(t, f.Changes(nil))
	})
	t.Run("rotates a secret by its keyed digest, never showing the value", func(t *testing.T) {
		key := []byte("0123456789abcdef0123456789abcdef")
		old := deploy.DigestSecrets(key, secret.Values{"SECRET_KEY_BASE": "hunter2-old"})
		rotated := deploy.DigestSecrets(key, secret.Values{"SECRET_KEY_BASE": "hunter2-new"})
		names := []string{"SECRET_KEY_BASE"}
		running := f.With(old.Parts(names))
		assert.Equal(t, []string{"secret SECRET_KEY_BASE rotated"}, f.With(rotated.Parts(names)).Changes(running))
		assert.Empty(t, f.With(old.Parts(names)).Changes(running))
		assert.NotContains(t, running.Label(), "hunter2")
		other := deploy.DigestSecrets([]byte("another key, another app........"), secret.Values{"SECRET_KEY_BASE": "hunter2-old"})
		assert.NotEqual(t, old["SECRET_KEY_BASE"], other["SECRET_KEY_BASE"], "the digest depends on the key")
	})
	t.Run("skips a secret whose digest it was not given", func(t *testing.T) {
		key := []byte("k")
		running := f.With(deploy.DigestSecrets(key, secret.Values{"S": "v"}).Parts([]string{"S"}))
		offline := f.With(deploy.SecretDigests(nil).Parts([]string{"S"}))
		assert.Empty(t, offline.Changes(running))
		assert.Equal(t, []string{"secret T added"}, f.With(deploy.SecretDigests(nil).Parts([]string{"S", "T"})).Changes(running))
	})
	t.Run("parses a label with parts it does not know", func(t *testing.T) {
		g := deploy.ParseFingerprint(f.Label() + ",future=123456789abc,garbage")
		require.Len(t, g, len(f)+1)
		assert.Equal(t, []string{"future changed"}, f.Changes(g))
		assert.False(t, strings.Contains(g.Label(), "garbage"))
	})
}
