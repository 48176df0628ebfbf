using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Services.Protos;
using Grpc.Core;

namespace Corral.Services;

/// <summary>Pricing: the last hop. Answers, waits until cancelled ("hang"), or ignores its cancellation ("stuck").</summary>
internal sealed class PricingService : Pricing.PricingBase
{
    /// <summary>How long a stuck quote keeps running after its call was given up; set by the driver (--stuck-seconds).</summary>
    public static TimeSpan StuckFor { get; set; } = TimeSpan.FromSeconds(5);

    public override async Task<QuoteReply> Quote(QuoteRequest request, ServerCallContext context)
    {
        var budget = Budget.Describe("pricing");
        Console.WriteLine($"quote {request.Sku} started ({budget})");
        try
        {
            switch (request.Mode)
            {
                case "hang":
                    await CancelScope.SleepAsync(TimeSpan.FromMinutes(10)); // a long computation that honours its scope
                    break;
                case "stuck":
                    // Says when the call is cancelled (its deadline passed): the work below goes on regardless.
                    var call = CancelScope.Current;
                    using (context.CancellationToken.UnsafeRegister(
                        _ => Console.WriteLine($"quote {request.Sku} cancelled: {call?.CancelReason?.Message}; its work ignores it"), null))
                    {
                        await TaskGroup.RunAsync(
                            group =>
                            {
                                // The bug this scene shows: the work forgets the token, so cancelling it changes nothing.
                                group.Start(_ => Task.Delay(StuckFor, CancellationToken.None), "recompute-price");
                                return Task.CompletedTask;
                            },
                            new TaskGroupOptions { Name = "quote-work" });
                    }

                    break;
            }

            return new QuoteReply { Cents = 1999, Budget = budget };
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine($"quote {request.Sku} stopped: {CancelScope.Current?.CancelReason?.Message}");
            throw;
        }
        finally
        {
            if (request.Mode == "stuck")
            {
                Console.WriteLine($"quote {request.Sku} finished, {StuckFor.TotalSeconds:F0} s after it started");
            }
        }
    }
}
