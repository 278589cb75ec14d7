package uptest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test of the Handler leaves no goroutine behind, as in package health before.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
