package deploy

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/secret"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestTerminalRedaction(t *testing.T) {
	values := secret.Values{"API_KEY": "k3y-0f-the-console"}

	t.Run("a prompt without a line end is shown once the output pauses", func(t *testing.T) {
		var out lockedBuffer
		w := newFlushingWriter(values.Writer(&out), ttyFlushDelay)
		_, err := w.Write([]byte("irb(main):001> "))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return out.String() == "irb(main):001> " }, 5*time.Second, 5*time.Millisecond)
		require.NoError(t, w.Close())
	})

	t.Run("a secret value is redacted, also when it comes in pieces", func(t *testing.T) {
		var out lockedBuffer
		w := newFlushingWriter(values.Writer(&out), time.Hour)
		for _, piece := range []string{"API_KEY=k3y-0f", "-the-console\r\n", "$ "} {
			_, err := w.Write([]byte(piece))
			require.NoError(t, err)
		}
		require.NoError(t, w.Close())
		assert.Equal(t, "API_KEY="+secret.Redacted+"\r\n$ ", out.String())
	})
}
