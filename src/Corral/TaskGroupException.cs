using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Corral;

/// <summary>
/// What a <see cref="TaskGroup"/> throws when anything in it failed: every failure, in the order they happened.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Strict: thrown for one failure as for many, never one unwrapped exception that depends on timing.</item>
/// <item><see cref="AggregateException.InnerExceptions"/> and <see cref="Failures"/> list the same exceptions in the same order;
/// <see cref="Failures"/> adds the name of the task that threw each.</item>
/// <item>Cancellations caused by the group's own cancel are not failures and never appear here.</item>
/// <item>Nested groups nest: a child that ran its own group contributes one <see cref="TaskGroupException"/>. The helpers
/// (<see cref="Contains{TException}(Func{TException, bool}?)"/>, <see cref="GetExceptions{TException}"/>,
/// <see cref="Split{TException}(Func{TException, bool}?)"/>) look through nesting, like Python's <c>except*</c>.</item>
/// </list>
/// </remarks>
public sealed class TaskGroupException : AggregateException
{
    /// <summary>Creates the exception for the given failures.</summary>
    /// <param name="groupName">The group's name, or null.</param>
    /// <param name="failures">The failures, in the order they happened; at least one.</param>
    /// <exception cref="ArgumentNullException"><paramref name="failures"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="failures"/> is empty.</exception>
    public TaskGroupException(string? groupName, IEnumerable<TaskFailure> failures)
        : this(groupName, Materialize(failures))
    {
    }

    private TaskGroupException(string? groupName, TaskFailure[] failures)
        : base(Summary(groupName, failures.Length), failures.Select(f => f.Exception))
    {
        GroupName = groupName;
        Failures = new ReadOnlyCollection<TaskFailure>(failures);
        _message = FormatMessage(groupName, failures);
    }

    /// <summary>The message, computed once; see <see cref="Message"/>.</summary>
    private readonly string _message;

    /// <summary>
    /// Gets a one-line summary: how many tasks failed, and for each its name, exception type and message. A nested group's
    /// failure is summarised by its own first line, so the message grows linearly with nesting (AggregateException's own
    /// message, which appends every inner message again at each level, would double at each level).
    /// </summary>
    public override string Message => _message;

    /// <summary>Gets the name of the group that threw, or <see langword="null"/>.</summary>
    public string? GroupName { get; }

    /// <summary>Gets every failure in the order it happened, with the name of the task that threw it.</summary>
    public IReadOnlyList<TaskFailure> Failures { get; }

    /// <summary>
    /// Tells whether any failure, looking through nested groups, is a <typeparamref name="TException"/> (matching
    /// <paramref name="predicate"/> if given). Use it in an exception filter:
    /// <c>catch (TaskGroupException e) when (e.Contains&lt;IOException&gt;())</c>.
    /// </summary>
    /// <typeparam name="TException">The exception type to look for.</typeparam>
    /// <param name="predicate">An optional further condition.</param>
    /// <returns><see langword="true"/> when one matches.</returns>
    public bool Contains<TException>(Func<TException, bool>? predicate = null)
        where TException : Exception =>
        Leaves().Any(e => e is TException t && (predicate is null || predicate(t)));

    /// <summary>Gets every failure of type <typeparamref name="TException"/>, looking through nested groups, in order.</summary>
    /// <typeparam name="TException">The exception type to collect.</typeparam>
    /// <returns>The matching exceptions; empty when none match.</returns>
    public IReadOnlyList<TException> GetExceptions<TException>()
        where TException : Exception => Leaves().OfType<TException>().ToArray();

    /// <summary>
    /// Splits the failures into those that are <typeparamref name="TException"/> (matching <paramref name="predicate"/> if
    /// given) and the rest, keeping the nesting of groups — Python's <c>ExceptionGroup.split</c>.
    /// </summary>
    /// <typeparam name="TException">The exception type to split out.</typeparam>
    /// <param name="predicate">An optional further condition.</param>
    /// <returns>The matching part and the rest; either is <see langword="null"/> when empty.</returns>
    /// <example><code>
    /// catch (TaskGroupException e) when (e.Contains&lt;TimeoutException&gt;())
    /// {
    ///     var (timeouts, rest) = e.Split&lt;TimeoutException&gt;();
    ///     Log(timeouts!);
    ///     if (rest is not null) throw rest;
    /// }
    /// </code></example>
    public (TaskGroupException? Matched, TaskGroupException? Remainder) Split<TException>(Func<TException, bool>? predicate = null)
        where TException : Exception
    {
        var matched = new List<TaskFailure>();
        var rest = new List<TaskFailure>();
        foreach (var failure in Failures)
        {
            if (failure.Exception is TaskGroupException nested)
            {
                var (m, r) = nested.Split(predicate);
                if (m is not null)
                {
                    matched.Add(new TaskFailure(failure.TaskName, m));
                }

                if (r is not null)
                {
                    rest.Add(new TaskFailure(failure.TaskName, r));
                }
            }
            else if (failure.Exception is TException t && (predicate is null || predicate(t)))
            {
                matched.Add(failure);
            }
            else
            {
                rest.Add(failure);
            }
        }

        return (
            matched.Count == 0 ? null : new TaskGroupException(GroupName, matched.ToArray()),
            rest.Count == 0 ? null : new TaskGroupException(GroupName, rest.ToArray()));
    }

    private IEnumerable<Exception> Leaves()
    {
        foreach (var failure in Failures)
        {
            if (failure.Exception is TaskGroupException nested)
            {
                foreach (var leaf in nested.Leaves())
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return failure.Exception;
            }
        }
    }

    private static TaskFailure[] Materialize(IEnumerable<TaskFailure> failures)
    {
        ArgumentNullException.ThrowIfNull(failures);
        var array = failures.ToArray();
        if (array.Length == 0)
        {
            throw new ArgumentException("A TaskGroupException needs at least one failure.", nameof(failures));
        }

        if (Array.IndexOf(array, null) >= 0)
        {
            throw new ArgumentException("A failure is null.", nameof(failures));
        }

        return array;
    }

    /// <summary>
    /// One line for an exception in messages and reasons: <c>Type: message</c>, or for a nested group only its summary
    /// (<c>TaskGroupException: N task(s) failed in task group 'name'</c>), so messages grow linearly with nesting.
    /// </summary>
    internal static string Describe(Exception exception) => exception is TaskGroupException nested
        ? $"{nameof(TaskGroupException)}: {Summary(nested.GroupName, nested.Failures.Count)}"
        : $"{exception.GetType().Name}: {exception.Message}";

    private static string Summary(string? groupName, int count) =>
        groupName is null
            ? string.Create(CultureInfo.InvariantCulture, $"{count} task(s) failed in task group")
            : string.Create(CultureInfo.InvariantCulture, $"{count} task(s) failed in task group '{groupName}'");

    private static string FormatMessage(string? groupName, TaskFailure[] failures)
    {
        var sb = new StringBuilder(Summary(groupName, failures.Length)).Append(": ");
        for (var i = 0; i < failures.Length; i++)
        {
            if (i > 0)
            {
                sb.Append("; ");
            }

            sb.Append(failures[i]);
        }

        return sb.ToString();
    }
}
