package engine_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/slipwayhq/slipway/deploy/engine"
)

func TestVersionCheck(t *testing.T) {
	tests := []struct {
		server string
		ok     bool
	}{
		{"20.10.9", true},
		{"20.10.24+dfsg1", true},
		{"26.1.5", true},
		{"v27.3.1", true},
		{"28.0.0-rc.1", true},
		{"21.0", true},
		{"20.10.8", false},
		{"19.03.15", false},
		{"1.13.1", false},
		{"", false},
		{"dev", false},
		{"20", false},
	}
	for _, tt := range tests {
		t.Run(tt.server, func(t *testing.T) {
			err := engine.Version{Server: tt.server}.Check()
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, engine.ErrEngineTooOld)
			assert.Contains(t, err.Error(), engine.MinimumVersion)
		})
	}
}

// Refuse a host whose engine lacks the fixes Slipway relies on.
func ExampleVersion_Check() {
	fmt.Println(engine.Version{Server: "20.10.24+dfsg1"}.Check())
	fmt.Println(engine.Version{Server: "19.03.12"}.Check())
	// Output:
	// <nil>
	// docker engine older than Slipway supports: 19.03.12 is older than 20.10.9, which has the fixes for the archive endpoint copying files into containers uses; upgrade Docker Engine
}
