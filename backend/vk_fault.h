/* vk_fault.h — fault injection at the backend's choke points, for tests:
 *
 *   MOEVK_FAULT_ALLOC=N   the N-th allocation in this process (vkCreateBuffer
 *                         and vkAllocateMemory, counted together from 1) fails
 *                         with VK_ERROR_OUT_OF_DEVICE_MEMORY;
 *   MOEVK_FAULT_SUBMIT=N  the N-th vkQueueSubmit returns VK_ERROR_DEVICE_LOST
 *                         (without submitting anything).
 *
 * Only that one call fails; unset or 0 disables. vk_memory.c calls
 * vk_fault_alloc() before each allocation, vk_stream.c / vk_memory.c call
 * vk_fault_submit() before each submit. */
#ifndef VK_FAULT_H
#define VK_FAULT_H

#include <stdint.h>

#include "vk_loader.h"

/* VK_SUCCESS, or the injected error when this call is the one to fail. */
VkResult vk_fault_alloc(void);
VkResult vk_fault_submit(void);

/* For tests: fail the alloc_n-th allocation and the submit_n-th submit from
 * now on (0: none), restarting both counts (this replaces the environment). */
void vk_fault_arm(uint64_t alloc_n, uint64_t submit_n);
/* Allocations and submits counted since the start (or the last vk_fault_arm). */
void vk_fault_counts(uint64_t *allocs, uint64_t *submits);

#endif
