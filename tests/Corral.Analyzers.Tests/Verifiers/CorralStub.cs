namespace Corral.Analyzers.Tests.Verifiers;

/// <summary>
/// A minimal source stub of the Corral API, added to every analyzer test compilation. It matches the names
/// and shapes of DESIGN.md and the real assembly, so the rules (which find Corral by metadata name) see
/// the same symbols they will see in users' code.
/// </summary>
internal static class CorralStub
{
    public const string Source = """
        #nullable enable
        using System;
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Channels;
        using System.Threading.Tasks;

        namespace Corral
        {
            public sealed class CancelScopeOptions
            {
                public TimeSpan? Timeout { get; set; }
                public DateTimeOffset? Deadline { get; set; }
            }

            public sealed class CancelScope
            {
                public CancellationToken Token => default;
                public bool IsCancellationRequested => false;
                public bool Shield { get; set; }
                public DateTimeOffset? Deadline { get; set; }
                public bool CancelCalled => false;
                public bool CancelledCaught => false;
                public bool IsExited => false;
                public void Cancel(string? reason = null) { }
                public static CancelScope? Current => null;
                public static CancellationToken CurrentToken => default;
                public static Task RunAsync(Func<CancelScope, Task> body, CancelScopeOptions? options = null) => body(new CancelScope());
                public static Task<bool> MoveOnAfterAsync(TimeSpan timeout, Func<CancellationToken, Task> body) => Task.FromResult(true);
                public static Task<bool> MoveOnAtAsync(DateTimeOffset deadline, Func<CancellationToken, Task> body) => Task.FromResult(true);
                public static Task FailAfterAsync(TimeSpan timeout, Func<CancellationToken, Task> body) => body(default);
                public static Task<T> FailAfterAsync<T>(TimeSpan timeout, Func<CancellationToken, Task<T>> body) => body(default);
                public static Task FailAtAsync(DateTimeOffset deadline, Func<CancellationToken, Task> body) => body(default);
                public static Task<bool> ShieldAsync(Func<CancellationToken, Task> body, TimeSpan? timeout = null) => Task.FromResult(true);
                public static ValueTask CheckpointAsync() => default;
                public static void ThrowIfCancelled() { }
                public static Task SleepAsync(TimeSpan delay) => Task.CompletedTask;
            }

            public sealed class StartSignal<T>
            {
                public void Started(T value) { }
            }

            public sealed class StartSignal
            {
                public void Started() { }
            }

            public sealed class SafeProducerOptions
            {
                public int Capacity { get; set; }
            }

            public static class SafeProducer
            {
                public static IAsyncEnumerable<T> ProduceAsync<T>(Func<ChannelWriter<T>, CancellationToken, Task> producer, SafeProducerOptions? options = null) => throw null!;
                public static IAsyncEnumerable<T> ProduceAsync<T>(Func<CancellationToken, IAsyncEnumerable<T>> source, SafeProducerOptions? options = null) => throw null!;
            }

            public static class StructuredParallel
            {
                public static Task ForEachAsync<T>(IEnumerable<T> source, Func<T, CancellationToken, Task> body) => Task.CompletedTask;
            }

            public sealed class TaskGroup
            {
                public CancelScope Scope => new CancelScope();
                public void Cancel(string? reason = null) { }
                public static Task RunAsync(Func<TaskGroup, Task> body) => body(new TaskGroup());
                public static Task<T> RunAsync<T>(Func<TaskGroup, Task<T>> body) => body(new TaskGroup());
                public void Start(Func<CancellationToken, Task> work, string? name = null) { }
                public Task<T> Start<T>(Func<CancellationToken, Task<T>> work, string? name = null) => work(default);
                public Task<T> StartAsync<T>(Func<StartSignal<T>, CancellationToken, Task> work, string? name = null) => Task.FromResult(default(T)!);
                public Task StartAsync(Func<StartSignal, CancellationToken, Task> work, string? name = null) => Task.CompletedTask;
                public bool IsClosed => false;
            }

            public class TaskGroupException : AggregateException
            {
            }
        }
        """;
}
