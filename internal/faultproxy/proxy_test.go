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
