// A stand-in for Vapi's live-call-control endpoint that only listens: every POST to
// /call/:id/control is recorded (in order, with its arrival time) and answered 200, and nothing
// is ended — so a test sees both the spoken sentence and the end-call that follows it.
import express from 'express';
import { listenLocal } from '../../sandbox/listen';

export interface ControlPost {
  callId: string;
  body: Record<string, unknown>;
  atMs: number;
}

export interface ControlServer {
  url(callId: string): string;
  posts: ControlPost[];
  close(): Promise<void>;
}

export async function startControlServer(): Promise<ControlServer> {
  const posts: ControlPost[] = [];
  const app = express();
  app.post('/call/:id/control', express.json(), (req, res) => {
    posts.push({ callId: req.params.id, body: req.body as Record<string, unknown>, atMs: Date.now() });
    res.status(200).json({ received: true });
  });
  const listening = await listenLocal(app);
  return {
    url: (callId) => `${listening.url}/call/${callId}/control`,
    posts,
    close: listening.close,
  };
}
