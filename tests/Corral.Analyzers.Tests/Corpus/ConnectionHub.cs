using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Corral;

namespace Shop.Infrastructure;

/// <summary>Serves push connections: a task group per hub, a child per connection, a heartbeat, and graceful stop.</summary>
public sealed class ConnectionHub
{
    private readonly ILog _log;
    private readonly HttpClient _http;
    private readonly Channel<int> _accepted = Channel.CreateUnbounded<int>();
    private TaskGroup? _sessions;
    private TaskGroup? _running;
    private Timer? _heartbeat;

    public ConnectionHub(ILog log, HttpClient http)
    {
        _log = log;
        _http = http;
    }

    public event EventHandler<int>? Accepted;

    // Wrong: the group is kept for the accept callback. Connections accepted after the hub stopped start children
    // in a closed group, and throw.
    public Task RunAsync(CancellationToken cancellationToken) => TaskGroup.RunAsync(async group =>
    {
        _sessions = group; // expect: CORRAL0011
        _running = group;
        Accepted += (_, id) => group.Start(ct => ServeAsync(id, ct), $"session-{id}"); // expect: CORRAL0011
        _heartbeat = new Timer(_ => group.Start(ct => PingAllAsync(ct), "heartbeat"), null, 0, 5000); // expect: CORRAL0011
        await Task.Delay(Timeout.Infinite, cancellationToken);
    });

    public void OnAccepted(int id) => _sessions?.Start(ct => ServeAsync(id, ct), $"session-{id}");

    // Cancelling a closed group is allowed: keeping the group only to stop it is fine.
    public void Stop() => _running?.Cancel("hub stopping");

    // Right: a child owns the accept loop, so every session starts while the group is open.
    public Task RunCarefullyAsync(CancellationToken cancellationToken) => TaskGroup.RunAsync(group =>
    {
        group.Start(async ct =>
        {
            await foreach (var id in _accepted.Reader.ReadAllAsync(ct))
            {
                group.Start(t => ServeAsync(id, t), $"session-{id}");
            }
        }, "accept");
        using var registration = cancellationToken.Register(() => group.Cancel("hub stopping"));
        return Task.CompletedTask;
    });

    // Wrong: the listener is started and not waited for; if it fails to bind, nobody hears of it.
    public Task RunWithListenerAsync() => TaskGroup.RunAsync(async group =>
    {
        _ = group.StartAsync<int>(async (started, ct) => // expect: CORRAL0012
        {
            var port = await BindAsync(ct);
            started.Started(port);
            await Task.Delay(Timeout.Infinite, ct);
        }, "listener");
        await AnnounceAsync(CancelScope.CurrentToken);
    });

    // Right: wait until the listener is bound, and learn its port.
    public Task RunWithListenerCarefullyAsync() => TaskGroup.RunAsync(async group =>
    {
        var port = await group.StartAsync<int>(async (started, ct) =>
        {
            var bound = await BindAsync(ct);
            started.Started(bound);
            await Task.Delay(Timeout.Infinite, ct);
        }, "listener");
        _log.Info($"listening on {port}");
    });

    // Wrong: the drain scope is kept to give the final report its token, after the scope has exited.
    public async Task DrainAsync(IReadOnlyList<int> sessions)
    {
        CancelScope? drain = null;
        await CancelScope.RunAsync(async scope =>
        {
            drain = scope;
            foreach (var id in sessions)
            {
                await CloseAsync(id, scope.Token);
            }
        }, new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(10) });
        await _http.PostAsync("hub/drained", new StringContent(sessions.Count.ToString()), drain!.Token); // expect: CORRAL0013
    }

    // Right: the scope is kept to read its outcome.
    public async Task<bool> DrainCarefullyAsync(IReadOnlyList<int> sessions, CancellationToken cancellationToken)
    {
        CancelScope? drain = null;
        await CancelScope.RunAsync(async scope =>
        {
            drain = scope;
            foreach (var id in sessions)
            {
                await CloseAsync(id, scope.Token);
            }
        }, new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(10) });
        await _http.PostAsync("hub/drained", new StringContent(sessions.Count.ToString()), cancellationToken);
        return !drain!.CancelledCaught;
    }

    private Task ServeAsync(int id, CancellationToken cancellationToken) => Task.Delay(id, cancellationToken);

    private Task PingAllAsync(CancellationToken cancellationToken) => _http.GetAsync("hub/ping", cancellationToken);

    private static Task<int> BindAsync(CancellationToken cancellationToken) => Task.FromResult(8080);

    private Task AnnounceAsync(CancellationToken cancellationToken) => _http.PostAsync("hub/up", null, cancellationToken);

    private Task CloseAsync(int id, CancellationToken cancellationToken) => Task.Delay(id, cancellationToken);
}
