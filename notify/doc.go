// Package notify delivers incident events to people and systems outside
// the control room: Web Push to phones, signed webhooks (JSON or CAP XML),
// MQTT, e-mail, and CAP 1.2 alerts with an Atom feed of them.
//
// The unit is a Delivery: one Event (an incident snapshot after a change:
// raised, realarmed, updated, acknowledged, resolved) to one Recipient.
// Every channel implements Sender; Send returns nil only once the receiver
// accepted the message, otherwise an error that IsPermanent classifies
// (permanent: do not retry; transient: retry with backoff, not before
// RetryAfter). Delivery is at-least-once: every payload carries the
// delivery's idempotency key (Delivery.Key, from incident, event and
// recipient) so receivers drop repeats. Nothing here stores or schedules;
// the durable outbox, routing and escalation call Send.
//
// One file per channel: webpush.go (+ vapid.go), webhook.go, mqtt.go,
// email.go, cap.go (+ atom.go). Wording shared by all channels is in
// render.go.
//
// Events of one incident should be sent in version order per recipient:
// receivers that keep state (the MQTT retained topic, a webhook consumer)
// can then keep the latest; every payload carries incident.version so a
// receiver can also drop an older one that arrives late.
//
// CAP mapping (README.md has the same table; TestCAPSeverityTable pins it):
//
//	RadTrack severity  CAP urgency  CAP severity  responseType
//	critical           Immediate    Extreme       Avoid
//	alarm              Immediate    Severe        Monitor
//	warning            Expected     Moderate      Monitor
//	notice             Future       Minor         Monitor
//	info               Unknown      Minor         None
//	(resolved event)   Past         (as above)    AllClear
//
//	event              msgType  references
//	raised             Alert    -
//	realarmed/updated/
//	acknowledged       Update   every earlier message of the incident
//	resolved           Cancel   every earlier message of the incident
//
// certainty: Observed when a dose was measured, Likely without a dose
// reading (fence, statistical test), Unlikely once adjudicated false
// alarm. status: Test for test notifications, Exercise for exercise
// incidents, else Actual (also for a resolve adjudicated "test": the
// Cancel must reach everyone who got the Actual alerts).
package notify
