package health

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRunningSpansForWithConsecutiveTries(t *testing.T) {
	p := Running{For: 7 * time.Second}.Policy()
	assert.Equal(t, Policy{Interval: time.Second, Timeout: DefaultTimeout, Successes: 8, Deadline: 37 * time.Second}, p)
	assert.Equal(t, 1, Running{}.Policy().Successes, "no For passes at the first running try")
	assert.Equal(t, 3, Running{For: 1500 * time.Millisecond, Interval: time.Second}.Policy().Successes, "a part interval counts whole")
	assert.Equal(t, "keeps running for 7s", Running{For: 7 * time.Second}.String())
}

func TestRunningRejectsANegativeOrTooShortTiming(t *testing.T) {
	errs := Running{For: -time.Second}.ValidateAt("roles.jobs.health")
	if assert.Len(t, errs, 1) {
		assert.Equal(t, "roles.jobs.health.for: must not be negative, got -1s", errs[0].Error())
	}
	errs = Running{For: 10 * time.Second, Deadline: 5 * time.Second}.ValidateAt("health")
	if assert.Len(t, errs, 1) {
		assert.Contains(t, errs[0].Error(), "health.deadline: 5s leaves no room to keep running for 10s")
	}
	assert.Empty(t, Running{For: 10 * time.Second}.ValidateAt("health"))
}
