package deploy

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/secret"
)

// The fingerprint key is the app's HMAC key for SecretDigests. It lives
// on the primary host beside the deploy lock, readable by the SSH user
// only (mode 0600): Lock makes it when it is missing and reads it in the
// same round trip, so every deployer of the app digests with one key and
// the key never leaves the hosts but in memory. It is never printed,
// logged, labelled or audited; it is redacted from output like a secret.

// keyLen is the fingerprint key's length in bytes.
const keyLen = 32

// keyPath is the fingerprint key's file, relative to the SSH user's home
// on the primary host.
func (s *Session) keyPath() string {
	return ".slipway/keys/" + ProxyService(s.app, "fingerprint")
}

// keyScript prints the key at path as hex after a "key " mark; with
// create, it first makes a missing one from /dev/urandom, mode 0600,
// written aside and moved into place so that no reader sees half a key.
// Without create, a missing key prints nothing.
func keyScript(path string, create bool) string {
	q := ssh.Quote(path)
	read := fmt.Sprintf(`if [ -s %[1]s ]; then printf 'key '; cat %[1]s; echo; fi`, q)
	if !create {
		return read
	}
	return fmt.Sprintf(`if [ ! -s %[1]s ]; then (umask 077; mkdir -p .slipway/keys; k=$(mktemp .slipway/keys/.key.XXXXXX); `+
		`head -c %[2]d /dev/urandom | od -An -v -tx1 | tr -d ' \n' > "$k"; mv -f "$k" %[1]s); fi; %[3]s`, q, keyLen, read)
}

// parseKey reads what keyScript printed: nil when there is no key.
func parseKey(out []byte) ([]byte, error) {
	for _, line := range strings.Split(string(out), "\n") {
		h, ok := strings.CutPrefix(strings.TrimSpace(line), "key ")
		if !ok {
			continue
		}
		key, err := hex.DecodeString(h)
		if err != nil || len(key) < keyLen {
			return nil, errors.New("the key file is not a key: remove it to have the next deploy make one (every container is then replaced once)")
		}
		return key, nil
	}
	return nil, nil
}

// fingerprintKey returns the app's key: the one Lock read, or else the
// one on the primary host, read without making it; nil when there is
// none yet. Reading changes nothing.
func (s *Session) fingerprintKey(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	key := s.key
	s.mu.Unlock()
	if key != nil {
		return key, nil
	}
	host := s.hosts[s.app.PrimaryHost()]
	var res ssh.Result
	err := s.call(ctx, host.name, "read the fingerprint key", s.opts.callTimeout(), func(ctx context.Context) error {
		var err error
		res, err = host.ssh.Run(ctx, keyScript(s.keyPath(), false), nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read the fingerprint key on %s: %w", host.name, err)
	}
	return parseKey(res.Stdout)
}

// Digests returns the keyed digests of the app's secret values (see
// SecretDigests) for a Release, so that a plan made outside Deploy, as
// `mage plan` makes one, compares secrets too. It resolves the secrets
// and reads the app's key from the primary host, changing nothing; with
// no key yet (nothing was deployed) it returns nil, and the plan says the
// secrets were not compared. Deploy and Rollback fill Release.Secrets
// themselves.
func (s *Session) Digests(ctx context.Context) (_ SecretDigests, err error) {
	defer s.redactErr(&err)
	values, err := s.resolveSecrets(ctx)
	if err != nil {
		return nil, err
	}
	key, err := s.fingerprintKey(ctx)
	if err != nil || key == nil {
		return nil, err
	}
	s.out.redact(secret.Values{"fingerprint key": hex.EncodeToString(key)})
	return DigestSecrets(key, values), nil
}
