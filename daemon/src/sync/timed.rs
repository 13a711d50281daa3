//! Adapter calls under a time limit.
//!
//! An adapter is native code in this process: a call that never returns cannot be interrupted,
//! and a run waiting on it would hold its connection's lease (renewed meanwhile) for good, so
//! every later run of the connection, on every replica, would be skipped. Here the session
//! lives on a thread of its own and the run waits for each call (and for the session's
//! creation) at most the connection's `call_timeout_seconds`. A call that takes longer fails
//! the run, which then ends and gives the lease back; the call's thread is left to finish or
//! hang by itself, holding only the session, which it drops if the call ever returns.

use std::sync::mpsc;
use std::time::Duration;

use provisiond_plugin_api::{AdapterGroup, AdapterUser, DeltaPage, Page};

use super::fetch::Directory;
use crate::plugins::PluginError;

/// A call to run on the session's thread.
type Call<D> = Box<dyn FnOnce(&mut D) + Send>;

/// A directory whose calls run on their own thread, each waited for at most `limit`.
pub struct TimedDirectory<D> {
    calls: mpsc::Sender<Call<D>>,
    limit: Duration,
    adapter: String,
    /// A call overran: the thread is busy with it for as long as it takes, so every later
    /// call fails at once.
    overran: Option<&'static str>,
}

impl<D: Directory + Send + 'static> TimedDirectory<D> {
    /// Makes the session with `make` on a new thread, waiting for it at most `limit`;
    /// `adapter` names the adapter in errors.
    pub fn start(
        adapter: &str,
        limit: Duration,
        make: impl FnOnce() -> Result<D, PluginError> + Send + 'static,
    ) -> Result<Self, PluginError> {
        let (calls, incoming) = mpsc::channel::<Call<D>>();
        let (made, creation) = mpsc::sync_channel::<Result<(), PluginError>>(1);
        // What the adapter logs belongs to the run: its span, under the same subscriber.
        let span = tracing::Span::current();
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        std::thread::Builder::new()
            .name("provisiond-adapter".into())
            .spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    span.in_scope(|| serve(make, &made, incoming));
                });
            })
            .map_err(|err| PluginError::Thread(err.to_string()))?;
        let mut timed = Self {
            calls,
            limit,
            adapter: adapter.to_owned(),
            overran: None,
        };
        timed.wait(&creation, "create")??;
        Ok(timed)
    }

    /// Runs `work` on the session's thread and waits for its answer.
    fn call<T: Send + 'static>(
        &mut self,
        operation: &'static str,
        work: impl FnOnce(&mut D) -> Result<T, PluginError> + Send + 'static,
    ) -> Result<T, PluginError> {
        if let Some(earlier) = self.overran {
            return Err(self.timed_out(earlier));
        }
        let (answer, answered) = mpsc::sync_channel(1);
        let call: Call<D> = Box::new(move |session| {
            let _ = answer.send(work(session));
        });
        self.calls
            .send(call)
            .map_err(|_| PluginError::Thread("the adapter's thread has ended".into()))?;
        self.wait(&answered, operation)?
    }

    fn wait<T>(
        &mut self,
        answered: &mpsc::Receiver<T>,
        operation: &'static str,
    ) -> Result<T, PluginError> {
        answered
            .recv_timeout(self.limit)
            .map_err(|outcome| match outcome {
                mpsc::RecvTimeoutError::Timeout => {
                    self.overran = Some(operation);
                    self.timed_out(operation)
                }
                mpsc::RecvTimeoutError::Disconnected => {
                    PluginError::Thread(format!("the adapter's thread ended during {operation}"))
                }
            })
    }

    fn timed_out(&self, operation: &'static str) -> PluginError {
        PluginError::TimedOut {
            adapter: self.adapter.clone(),
            operation,
            limit_seconds: self.limit.as_secs_f64(),
        }
    }
}

/// The session's thread: makes the session, says whether that worked, then runs the calls
/// until the run drops its end (after the call in progress), and drops the session.
fn serve<D>(
    make: impl FnOnce() -> Result<D, PluginError>,
    made: &mpsc::SyncSender<Result<(), PluginError>>,
    incoming: mpsc::Receiver<Call<D>>,
) {
    let mut session = match make() {
        Ok(session) => session,
        Err(err) => {
            let _ = made.send(Err(err));
            return;
        }
    };
    if made.send(Ok(())).is_err() {
        return;
    }
    for call in incoming {
        call(&mut session);
    }
}

impl<D: Directory + Send + 'static> Directory for TimedDirectory<D> {
    fn users_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterUser>, PluginError> {
        let cursor = cursor.map(str::to_owned);
        self.call("users_page", move |session| {
            session.users_page(cursor.as_deref())
        })
    }

    fn groups_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterGroup>, PluginError> {
        let cursor = cursor.map(str::to_owned);
        self.call("groups_page", move |session| {
            session.groups_page(cursor.as_deref())
        })
    }

    fn delta(&mut self, token: Option<&str>) -> Result<DeltaPage, PluginError> {
        let token = token.map(str::to_owned);
        self.call("delta", move |session| session.delta(token.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Answers each users page at once unless told to wait for `hold` first.
    struct Slow {
        hold: Arc<Mutex<()>>,
    }

    impl Directory for Slow {
        fn users_page(&mut self, cursor: Option<&str>) -> Result<Page<AdapterUser>, PluginError> {
            tracing::info!("reading a users page");
            if cursor.is_some() {
                drop(self.hold.lock());
            }
            Ok(Page {
                items: vec![AdapterUser::new("u1", "u1@acme.example")],
                next_cursor: Some("next".into()),
            })
        }

        fn groups_page(&mut self, _: Option<&str>) -> Result<Page<AdapterGroup>, PluginError> {
            Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            })
        }

        fn delta(&mut self, _: Option<&str>) -> Result<DeltaPage, PluginError> {
            Err(PluginError::Thread("no delta here".into()))
        }
    }

    #[test]
    fn a_call_past_the_limit_fails_and_so_does_every_later_one() {
        let hold = Arc::new(Mutex::new(()));
        let held = hold.lock();
        let slow = Slow { hold: hold.clone() };
        let limit = Duration::from_millis(200);
        let mut timed = TimedDirectory::start("slow", limit, move || Ok(slow)).unwrap();

        assert_eq!(timed.users_page(None).unwrap().items.len(), 1);
        let err = timed.users_page(Some("next")).unwrap_err();
        assert!(
            matches!(
                err,
                PluginError::TimedOut {
                    operation: "users_page",
                    ..
                }
            ),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains("`slow`") && message.contains("0.2 s"),
            "{message}"
        );
        // The thread is still in the overrun call: nothing else is sent to it.
        let err = timed.groups_page(None).unwrap_err();
        assert!(err.to_string().contains("users_page"), "{err}");
        drop(held);
    }

    /// What the adapter logs while it makes the session or reads a page carries the run's
    /// span (its run id and connection), as when the calls ran on the run's own thread.
    #[test]
    fn what_the_adapter_logs_carries_the_run_span() {
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("sync_run", run_id = "run-42");
            let _entered = span.enter();
            let slow = Slow {
                hold: Arc::default(),
            };
            let limit = Duration::from_secs(30);
            let mut timed = TimedDirectory::start("slow", limit, move || {
                tracing::info!("making the session");
                Ok(slow)
            })
            .unwrap();
            timed.users_page(None).unwrap();
        });

        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        for message in ["making the session", "reading a users page"] {
            let line = text.lines().find(|line| line.contains(message));
            assert!(
                line.is_some_and(|line| line.contains("run-42")),
                "{message}: {text}"
            );
        }
    }

    #[test]
    fn a_creation_past_the_limit_or_failing_is_an_error() {
        let limit = Duration::from_millis(100);
        let stuck = TimedDirectory::<Slow>::start("stuck", limit, || {
            std::thread::sleep(Duration::from_secs(2));
            Err(PluginError::Thread("gave up".into()))
        });
        assert!(matches!(
            stuck,
            Err(PluginError::TimedOut {
                operation: "create",
                ..
            })
        ));
        let failing = TimedDirectory::<Slow>::start("failing", limit, || {
            Err(PluginError::Thread("no session".into()))
        });
        assert!(matches!(failing, Err(PluginError::Thread(_))));
    }
}
