package ratelimit

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBucketRefillsAtRate(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(2, 4, 10)
	l.now = c.now
	for i := range 4 {
		if ok, _ := l.Allow("van"); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow("van")
	if ok || wait != time.Second {
		t.Fatalf("fifth request: ok=%v wait=%v, want refused, retry after 1s (rounded up)", ok, wait)
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("another key shares the bucket")
	}
	c.t = c.t.Add(500 * time.Millisecond) // one token back
	if ok, _ := l.Allow("van"); !ok {
		t.Fatal("token not refilled after 0.5 s at 2/s")
	}
	if ok, _ := l.Allow("van"); ok {
		t.Fatal("more than the refill allowed")
	}
}

func TestLargeBatchNeedsAFullBucketNotMore(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(10, 100, 10)
	l.now = c.now
	if ok, _ := l.AllowN("gw", 500); !ok {
		t.Fatal("a batch larger than the burst is refused even with a full bucket")
	}
	if ok, wait := l.AllowN("gw", 1); ok || wait < 40*time.Second {
		t.Fatalf("after a 500-sample batch at 10/s: ok=%v wait=%v, want ~41 s of debt", ok, wait)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New(1, 1, 100)
	l.now = c.now
	for i := range 1000 {
		l.Allow(string(rune(i)))
	}
	if len(l.buckets) > 100 {
		t.Fatalf("%d buckets kept, bound is 100", len(l.buckets))
	}
}

func TestZeroRateDisables(t *testing.T) {
	var l *Limiter
	if ok, _ := l.Allow("x"); !ok {
		t.Fatal("nil limiter refused")
	}
	if ok, _ := New(0, 1, 1).AllowN("x", 1e6); !ok {
		t.Fatal("zero rate refused")
	}
}

func TestConnsCapsEachKeyAndForgetsClosedOnes(t *testing.T) {
	c := NewConns(2)
	if !c.Acquire("10.0.0.1") || !c.Acquire("10.0.0.1") {
		t.Fatal("the first two connections of an address refused")
	}
	if c.Acquire("10.0.0.1") {
		t.Fatal("a third connection of the same address allowed with a cap of 2")
	}
	if !c.Acquire("10.0.0.2") {
		t.Fatal("another address shares the cap")
	}
	c.Release("10.0.0.1")
	if !c.Acquire("10.0.0.1") {
		t.Fatal("a slot given back is not reusable")
	}
	c.Release("10.0.0.1")
	c.Release("10.0.0.1")
	c.Release("10.0.0.2")
	if n := len(c.open); n != 0 {
		t.Fatalf("%d keys kept after every connection closed, want 0 (bounded memory)", n)
	}
	unlimited := NewConns(0)
	for i := range 1000 {
		if !unlimited.Acquire("h") {
			t.Fatalf("connection %d refused without a cap", i)
		}
	}
	if unlimited.Open("h") != 1000 {
		t.Fatalf("Open = %d, want 1000", unlimited.Open("h"))
	}
}
