package faultproxy

import (
	"net"
	"testing"
	"time"
)

func TestUpAgain(t *testing.T) {
	p := Start(t, "127.0.0.1:5432")
	try := func() error {
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		// SSLRequest
		c.Write([]byte{0, 0, 0, 8, 4, 210, 22, 47})
		c.SetReadDeadline(time.Now().Add(time.Second))
		b := make([]byte, 1)
		_, err = c.Read(b)
		return err
	}
	if err := try(); err != nil {
		t.Fatal("before", err)
	}
	p.Down()
	if err := try(); err == nil {
		t.Fatal("down but works")
	}
	p.Up()
	if err := try(); err != nil {
		t.Fatal("after up", err)
	}
}

// A hung proxy accepts connections and forwards nothing until Up, then
// delivers what it held.
func TestHang(t *testing.T) {
	p := Start(t, "127.0.0.1:5432")
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	ssl := []byte{0, 0, 0, 8, 4, 210, 22, 47} // SSLRequest: answered with one byte
	answered := func(c net.Conn, within time.Duration) error {
		c.SetReadDeadline(time.Now().Add(within))
		b := make([]byte, 1)
		_, err := c.Read(b)
		return err
	}
	open := dial() // opened before the hang
	p.Hang()
	if _, err := open.Write(ssl); err != nil {
		t.Fatal(err)
	}
	if err := answered(open, 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("open connection during the hang: %v, want a read timeout", err)
	}
	fresh := dial() // accepted during the hang
	if _, err := fresh.Write(ssl); err != nil {
		t.Fatal(err)
	}
	if err := answered(fresh, 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("new connection during the hang: %v, want a read timeout", err)
	}
	p.Up()
	for name, c := range map[string]net.Conn{"open": open, "fresh": fresh} {
		if err := answered(c, 2*time.Second); err != nil {
			t.Fatalf("%s connection after Up: %v, want the held request answered", name, err)
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
