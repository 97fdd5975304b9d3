package deadline

import (
	"context"

	"github.com/radtrack/radtrack/store"
)

// Site calls are people's reads and edits: Query budget.

func (x *Store) CreateSite(ctx context.Context, s store.Site) (_ store.Site, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.CreateSite(ctx, s)
}

func (x *Store) ListSites(ctx context.Context) (_ []store.Site, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.ListSites(ctx)
}

func (x *Store) RenameSite(ctx context.Context, id int64, name string) (_ store.Site, err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.RenameSite(ctx, id, name)
}

func (x *Store) SetDeviceSite(ctx context.Context, deviceID, siteID int64) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.SetDeviceSite(ctx, deviceID, siteID)
}

func (x *Store) SetUserSite(ctx context.Context, userID, siteID int64) (err error) {
	var end func(*error)
	if ctx, end, err = x.begin(ctx, kindQuery); err != nil {
		return
	}
	defer end(&err)
	return x.s.SetUserSite(ctx, userID, siteID)
}
