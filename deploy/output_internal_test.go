package deploy

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPrinterTable(t *testing.T) {
	t.Run("columns as wide as their widest cell, never narrower than asked", func(t *testing.T) {
		var out bytes.Buffer
		p := newPrinter(&out)
		p.table([]int{15, 8, 12, 8},
			[]string{"HOST", "ROLE", "VERSION", "RESULT", "TIME"},
			[]string{"10.250.1.2", "web", "src-3fdbd2dc7d11", "ok", "0.67s"},
			[]string{"a-long-host-name.example.com", "cache", "7.2", "FAILING", "1.00s", " not replicated"},
			[]string{"10.250.3.2", "web", "(previous)", "FAILED", "12.34s"},
		)
		assert.Equal(t, "\n"+
			"HOST                         ROLE     VERSION          RESULT   TIME\n"+
			"10.250.1.2                   web      src-3fdbd2dc7d11 ok       0.67s\n"+
			"a-long-host-name.example.com cache    7.2              FAILING  1.00s   not replicated\n"+
			"10.250.3.2                   web      (previous)       FAILED   12.34s\n", out.String())
	})
}
